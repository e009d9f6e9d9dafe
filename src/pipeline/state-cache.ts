import type { StoreApi } from '../store/api.ts';
import type { StateView } from './listener.ts';

/**
 * Thrown by {@link CachedState} for a value (or, `key` null, a namespace's list) it has not read yet:
 * the store's reads are async and a listener's are not, so the caller reads it (`fill`) and runs
 * the pure code that asked again. Not a failure: never let it reach a listener's error handling.
 */
export class StateMiss extends Error {
  readonly namespace: string;
  readonly key: string | null;

  constructor(namespace: string, key: string | null) {
    super(key === null ? `state ${namespace} not read yet` : `state ${namespace}/${key} not read yet`);
    this.name = 'StateMiss';
    this.namespace = namespace;
    this.key = key;
  }
}

/**
 * Listener state as synchronous code reads it: each value (and each namespace's list) read from the
 * store once, until it is written through `put` or `forget` drops everything (a savepoint undone).
 * A write drops the cached value instead of keeping what was written, so the next read is the
 * store's, as it stored it.
 */
export class CachedState implements StateView {
  readonly #store: StoreApi;
  readonly #values = new Map<string, unknown>();
  readonly #lists = new Map<string, Array<{ key: string; value: unknown }>>();

  constructor(store: StoreApi) {
    this.#store = store;
  }

  /** @throws StateMiss when not read yet */
  get(namespace: string, key: string): unknown {
    const id = `${namespace}\u0000${key}`;
    if (this.#values.has(id)) return this.#values.get(id);
    throw new StateMiss(namespace, key);
  }

  /** @throws StateMiss when not read yet */
  list(namespace: string): ReadonlyArray<{ key: string; value: unknown }> {
    const list = this.#lists.get(namespace);
    if (list) return list;
    throw new StateMiss(namespace, null);
  }

  /** Reads what `miss` asked for. */
  async fill(miss: StateMiss): Promise<void> {
    if (miss.key === null) this.#lists.set(miss.namespace, await this.#store.state.list(miss.namespace));
    else this.#values.set(`${miss.namespace}\u0000${miss.key}`, await this.#store.state.get(miss.namespace, miss.key));
  }

  async put(namespace: string, key: string, value: unknown, at: string, by: string): Promise<void> {
    await this.#store.state.put(namespace, key, value, at, by);
    this.#values.delete(`${namespace}\u0000${key}`);
    this.#lists.delete(namespace);
  }

  forget(): void {
    this.#values.clear();
    this.#lists.clear();
  }
}

/** Runs the synchronous `fn` over `state` until it reads nothing that was not read yet; what it returned. */
export async function readingThrough<T>(state: CachedState, fn: () => T): Promise<T> {
  for (;;) {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof StateMiss)) throw error;
      await state.fill(error);
    }
  }
}
