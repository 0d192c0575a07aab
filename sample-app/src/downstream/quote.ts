/** A price quote, as the downstream serves it. */
export interface Quote {
  id: string;
  price: number;
  currency: string;
  /** When the downstream produced it (ISO 8601). */
  asOf: string;
}
