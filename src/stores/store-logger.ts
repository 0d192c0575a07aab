/** Where a store reports trouble it survives (the Nest layer passes its Logger). */
export interface StoreLogger {
  warn(message: string): void;
  error(message: string): void;
}
