/**
 * The PostgreSQL store backend (issue 11: several replicas on one database). Built and tested in
 * isolation; NOT yet wired: nothing in src/ outside this folder imports it, `store.url` is not a
 * config key yet, and every caller still uses the synchronous SQLite store (src/store/store.ts).
 * Wiring it means first turning the callers to an async store API both backends honour.
 *
 * What is here:
 * - PgDatabase (database.ts): a pool from a postgres:// URL; `transaction(fn)` / `withTransaction`
 *   (BEGIN ... COMMIT/ROLLBACK on one checked-out client, nested calls as savepoints, the client
 *   found through async context so table methods join the transaction in scope).
 * - migrate.ts / migrations.ts: the SQLite schema in PostgreSQL DDL, plus the replica tables, as a
 *   versioned list applied once under pg_advisory_xact_lock.
 * - Async tables mirroring the SQLite ones' method names and meanings (events, outbox, jobs, state,
 *   rejected, daemons), plus what replicas need: inbox inserts that dedupe across replicas; job
 *   claims with FOR UPDATE SKIP LOCKED under a lease, one running job per queue key, reclaiming a
 *   dead replica's jobs; outbox claims; named leases (the dispatcher's: see leases.ts for why a
 *   lease and not per-key serialisation); the replicas table; LISTEN/NOTIFY wake-ups (notify.ts):
 *   a new event, job or outbox row, a finished or requeued job and a released outbox row wake the
 *   listeners by themselves, on commit.
 *
 * Not here yet: equivalents of src/store/emit.ts (takes the sync Store), observability.ts (metrics
 * reads) and retention.ts (pruning); the dispatcher, job runner and outbox relay holding leases,
 * heartbeating and listening; `status`/`/metrics` showing `replicas.list()`.
 */
import { PgDaemonsTable } from './daemons.ts';
import { PgDatabase, type PostgresOptions } from './database.ts';
import { PgEventsTable } from './events.ts';
import { PgJobsTable } from './jobs.ts';
import { PgLeasesTable } from './leases.ts';
import { migrate } from './migrate.ts';
import { PgWakeListener, wake, type WakeCallback } from './notify.ts';
import { PgOutboxTable } from './outbox.ts';
import { PgRejectedTable } from './rejected.ts';
import { PgReplicasTable } from './replicas.ts';
import { PgStateTable } from './state.ts';

export { checkPostgresUrl, isPostgresStoreError, isUniqueViolation, PgDatabase, PostgresUrlError, withTransaction } from './database.ts';
export type { PostgresOptions, Queryable, SqlParam } from './database.ts';
export { PgDaemonsTable } from './daemons.ts';
export { PgEventsTable, type InsertEventMeta } from './events.ts';
export { PgJobsTable, type ClaimedJob, type JobLease } from './jobs.ts';
export { DISPATCHER_LEASE, LeaseLostError, PgLeasesTable, type LeaseRecord } from './leases.ts';
export { migrate, MIGRATION_LOCK_KEY, schemaVersion } from './migrate.ts';
export { postgresMigrations } from './migrations.ts';
export { PgWakeListener, wake, WakeChannel, type WakeCallback } from './notify.ts';
export { PgOutboxTable } from './outbox.ts';
export { PgRejectedTable } from './rejected.ts';
export { PgReplicasTable, type ReplicaRecord } from './replicas.ts';
export { PgStateTable } from './state.ts';

export interface PostgresStoreOptions extends PostgresOptions {
  /** Bytes of a rejected message's body kept (`retention.rejectedRawBytes`). @default 65536 */
  rejectedRawBytes?: number | undefined;
}

/** The store on PostgreSQL: the tables of the SQLite store, async, and what replicas share. */
export class PostgresStore {
  readonly db: PgDatabase;
  readonly url: string;
  readonly events: PgEventsTable;
  readonly rejected: PgRejectedTable;
  readonly outbox: PgOutboxTable;
  readonly jobs: PgJobsTable;
  readonly state: PgStateTable;
  readonly daemons: PgDaemonsTable;
  readonly leases: PgLeasesTable;
  readonly replicas: PgReplicasTable;
  #listener: PgWakeListener | undefined;

  private constructor(db: PgDatabase, options: PostgresStoreOptions) {
    this.db = db;
    this.url = db.url;
    this.events = new PgEventsTable(db);
    this.rejected = new PgRejectedTable(db, { rawBytesKept: options.rejectedRawBytes });
    this.outbox = new PgOutboxTable(db);
    this.jobs = new PgJobsTable(db);
    this.state = new PgStateTable(db);
    this.daemons = new PgDaemonsTable(db);
    this.leases = new PgLeasesTable(db);
    this.replicas = new PgReplicasTable(db);
  }

  /** Connects to `url` and brings its schema up to date (once, whoever else opens it at the same time). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const db = new PgDatabase(url, options);
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
    return new PostgresStore(db, options);
  }

  /** Runs `fn` atomically: every store write made from it commits together or not at all. Nested: a savepoint. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /** Within a transaction, undoes only what `fn` wrote when it throws (a transaction of its own outside one). */
  savepoint<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /** Runs `fn` and undoes everything it wrote, whether it succeeds or throws: what `fn` reports is what it would have done. */
  dryRun<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.dryRun(fn);
  }

  /** Wakes the replicas listening on `channel`; in a transaction, when it commits. */
  wake(channel: string, payload = ''): Promise<void> {
    return wake(this.db, channel, payload);
  }

  /** Calls `callback` on each wake on `channel` (any replica's, this one's too). @returns a function that stops it. */
  onWake(channel: string, callback: WakeCallback): Promise<() => Promise<void>> {
    this.#listener ??= new PgWakeListener(this.url);
    return this.#listener.onWake(channel, callback);
  }

  async close(): Promise<void> {
    await this.#listener?.close();
    this.#listener = undefined;
    await this.db.close();
  }
}
