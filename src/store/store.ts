import { existsSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { RelengdError } from '../errors.ts';
import { inRolledBackTransaction, inSavepoint, inTransaction, openDatabase, type Synchronous } from './database.ts';
import { DaemonsTable } from './daemons.ts';
import { EventsTable } from './events.ts';
import { applyInboxWrites, type InboxWrite } from './inbox.ts';
import { JobsTable } from './jobs.ts';
import { OutboxTable } from './outbox.ts';
import { RejectedTable } from './rejected.ts';
import { StateTable } from './state.ts';

export interface StoreOptions {
  /** Bytes of a rejected message's body kept (`retention.rejectedRawBytes`). @default 65536 */
  rejectedRawBytes?: number | undefined;
}

/** A read-only command found no store at the configured path. */
export class StoreMissingError extends RelengdError {
  readonly path: string;
  constructor(path: string) {
    super(`no store at ${path}: relengd has not run with this configuration (give the daemon's --config, or set store.path)`);
    this.path = path;
  }
}

/** The store: one SQLite file holding events (the inbox), rejected messages, the outbox, jobs and listener state. */
export class Store {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly events: EventsTable;
  readonly rejected: RejectedTable;
  readonly outbox: OutboxTable;
  readonly jobs: JobsTable;
  readonly state: StateTable;
  readonly daemons: DaemonsTable;

  private constructor(db: DatabaseSync, path: string, options: StoreOptions) {
    this.db = db;
    this.path = path;
    this.events = new EventsTable(db);
    this.rejected = new RejectedTable(db, { rawBytesKept: options.rejectedRawBytes });
    this.outbox = new OutboxTable(db);
    this.jobs = new JobsTable(db);
    this.state = new StateTable(db);
    this.daemons = new DaemonsTable(db);
  }

  static open(path: string, options: StoreOptions = {}): Store {
    return new Store(openDatabase(path), path, options);
  }

  /**
   * Opens a store that must already exist: read-only commands (status, events, jobs, export) never
   * create one, so a wrong or missing --config is an error instead of an empty, newly created store.
   * @throws StoreMissingError
   */
  static openExisting(path: string, options: StoreOptions = {}): Store {
    if (path !== ':memory:' && !existsSync(path)) throw new StoreMissingError(path);
    return Store.open(path, options);
  }

  /** Runs `fn` atomically: everything it writes commits together or not at all. */
  transaction<T>(fn: () => T): T {
    return inTransaction(this.db, fn);
  }

  /**
   * Runs `fn` and undoes everything it wrote, whether it succeeds or throws: what `fn` reports is
   * what it would have done. Synchronous only: nothing may be awaited inside (see {@link inRolledBackTransaction}).
   */
  dryRun<T>(fn: () => Synchronous<T>): T {
    return inRolledBackTransaction(this.db, fn);
  }

  /** Stores inbox writes (./inbox.ts) in one transaction; for each, whether it stored a row. */
  writeInbox(writes: readonly InboxWrite[]): boolean[] {
    return this.transaction(() => applyInboxWrites(this, writes));
  }

  /** Within a transaction, undoes only what `fn` wrote when it throws. */
  savepoint<T>(fn: () => T): T {
    return inSavepoint(this.db, fn);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
