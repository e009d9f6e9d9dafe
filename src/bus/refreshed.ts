/**
 * A value that is costly to read (a broker round trip), read at most once per `maxAgeMs`: callers
 * in between get the last value, and callers during a read share it. A scrape storm costs one read.
 */
export class Refreshed<T> {
  readonly #read: () => Promise<T>;
  readonly #maxAgeMs: number;
  readonly #nowMs: () => number;
  #value: { at: number; value: T } | null = null;
  #reading: Promise<T> | null = null;

  constructor(read: () => Promise<T>, options: { maxAgeMs: number; nowMs: () => number }) {
    this.#read = read;
    this.#maxAgeMs = options.maxAgeMs;
    this.#nowMs = options.nowMs;
  }

  get(): Promise<T> {
    if (this.#reading) return this.#reading;
    if (this.#value && this.#nowMs() - this.#value.at < this.#maxAgeMs) return Promise.resolve(this.#value.value);
    this.#reading = this.#read()
      .then((value) => {
        this.#value = { at: this.#nowMs(), value };
        return value;
      })
      .finally(() => {
        this.#reading = null;
      });
    return this.#reading;
  }
}

/** How often a transport asks its broker how many messages wait (`Transport.backlog`). */
export const BACKLOG_MAX_AGE_MS = 5000;
