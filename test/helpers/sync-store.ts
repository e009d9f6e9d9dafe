import type { StoreApi } from '../../src/store/api.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';

/** The synchronous SQLite tables under a daemon's store, for a test's asserts (these tests run on SQLite). */
export function syncStore(store: StoreApi): Store {
  if (!(store instanceof SqliteStore)) throw new Error(`this test reads the SQLite tables directly; the store is ${store.backend}`);
  return store.sync;
}
