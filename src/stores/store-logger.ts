/** Where a store reports trouble it survives (the Nest layer passes its Logger). */
export interface StoreLogger {
  /** What it opened at start-up (the sqlite store names its file and driver). */
  log?(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
