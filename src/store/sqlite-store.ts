import { AsyncLocalStorage } from 'node:async_hooks';
import type { DatabaseSync } from 'node:sqlite';
import type { DaemonsApi, EventsApi, JobsApi, ObservabilityApi, OutboxApi, RejectedApi, StateApi, StoreApi } from './api.ts';
import { ObservabilityReads } from './observability.ts';
import { Store, type StoreOptions } from './store.ts';

let savepointCounter = 0;

/**
 * The async store API (./api.ts) on one SQLite file: the synchronous tables of ./store.ts, with
 * transactions that may await. A transaction holds the connection from BEGIN to COMMIT; calls from
 * outside it (another loop of the daemon) wait until it ends instead of running inside it, where a
 * rollback would undo them. Calls made while no transaction is open run at once, as before.
 */
export class SqliteStore implements StoreApi {
  readonly backend = 'sqlite' as const;
  /** The synchronous store underneath: for code that runs only on SQLite (tests, migrations, retention). */
  readonly sync: Store;
  readonly location: string;
  readonly events: EventsApi;
  readonly rejected: RejectedApi;
  readonly outbox: OutboxApi;
  readonly jobs: JobsApi;
  readonly state: StateApi;
  readonly daemons: DaemonsApi;
  readonly observability: ObservabilityApi;
  readonly #inTransaction = new AsyncLocalStorage<true>();
  #held = false;
  readonly #waiting: Array<() => void> = [];

  constructor(store: Store) {
    this.sync = store;
    this.location = store.path;
    const run = this.#run.bind(this);
    this.events = wrap(store.events, run, ['insert', 'has', 'get', 'pending', 'markDispatched', 'markDispatchFailed', 'resetDispatch', 'delete', 'lastInboundTime', 'count', 'countsByState', 'raw', 'query']);
    this.rejected = { ...wrap(store.rejected, run, ['insert', 'list', 'count']), row: (r) => store.rejected.row(r) };
    this.outbox = wrap(store.outbox, run, ['add', 'pending', 'markSent', 'markFailed', 'countPending']);
    this.jobs = wrap(store.jobs, run, ['insert', 'claimNext', 'finish', 'finishedFor', 'retry', 'requeueUnfinished', 'requeue', 'get', 'ofCompose', 'list', 'countByState']);
    this.state = wrap(store.state, run, ['get', 'list', 'put']);
    this.daemons = wrap(store.daemons, run, ['register', 'beat', 'remove', 'forgetSilentSince', 'list']);
    this.observability = wrap(new ObservabilityReads(store.db), run, ['eventsAfter', 'rejectedAfter', 'jobsStartedSince', 'jobsFinishedSince', 'acceptedAtOf', 'oldestPendingOutbox', 'lastInbound']);
  }

  static open(path: string, options: StoreOptions = {}): SqliteStore {
    return new SqliteStore(Store.open(path, options));
  }

  /** @throws StoreMissingError when no store is at `path` (read-only verbs never create one) */
  static openExisting(path: string, options: StoreOptions = {}): SqliteStore {
    return new SqliteStore(Store.openExisting(path, options));
  }

  get db(): DatabaseSync {
    return this.sync.db;
  }

  isOpen(): boolean {
    return this.sync.db.isOpen;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inTransaction.getStore()) return this.savepoint(fn);
    await this.#acquire();
    const db = this.sync.db;
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.#inTransaction.run(true, fn);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.#release();
    }
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#inTransaction.getStore()) return this.transaction(fn);
    const db = this.sync.db;
    const name = `asp${++savepointCounter}`;
    db.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      db.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      db.exec(`ROLLBACK TO ${name}`);
      db.exec(`RELEASE ${name}`);
      throw error;
    }
  }

  async dryRun<T>(fn: () => Promise<T>): Promise<T> {
    const nested = this.#inTransaction.getStore() === true;
    if (!nested) await this.#acquire();
    const db = this.sync.db;
    const name = `adry${++savepointCounter}`;
    try {
      db.exec(nested ? `SAVEPOINT ${name}` : 'BEGIN IMMEDIATE');
      try {
        return await this.#inTransaction.run(true, fn);
      } finally {
        if (nested) db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
        else if (db.isTransaction) db.exec('ROLLBACK');
      }
    } finally {
      if (!nested) this.#release();
    }
  }

  writeInbox(writes: Parameters<Store['writeInbox']>[0]): Promise<boolean[]> {
    return this.#run(() => this.sync.writeInbox(writes));
  }

  async close(): Promise<void> {
    if (this.#held && !this.#inTransaction.getStore()) await this.#acquire().then(() => this.#release());
    this.sync.close();
  }

  /** Runs one synchronous store call: at once, unless another transaction holds the connection. */
  #run<T>(call: () => T): Promise<T> {
    if (!this.#held || this.#inTransaction.getStore()) {
      try {
        return Promise.resolve(call());
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    return this.#acquire().then(() => {
      try {
        return call();
      } finally {
        this.#release();
      }
    });
  }

  async #acquire(): Promise<void> {
    while (this.#held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#held = true;
  }

  #release(): void {
    this.#held = false;
    this.#waiting.shift()?.();
  }
}

type Methods<T, K extends keyof T> = { [P in K]: T[P] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never };

/** The named methods of a synchronous table as async ones, each run through `run`. */
function wrap<T extends object, K extends keyof T>(table: T, run: <R>(call: () => R) => Promise<R>, names: readonly K[]): Methods<T, K> {
  const api = {} as Record<PropertyKey, unknown>;
  for (const name of names) {
    const method = table[name] as unknown as (...args: unknown[]) => unknown;
    api[name] = (...args: unknown[]) => run(() => method.apply(table, args));
  }
  return api as Methods<T, K>;
}
