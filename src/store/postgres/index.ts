/**
 * The PostgreSQL store backend (issue 11: several replicas on one database). `PostgresStore`
 * implements the async store API (../api.ts) the SQLite store does, so relengd's loops run on
 * either; each store is one replica (`replicaId`, `leaseMs`), which its job claims and outbox
 * claims are made for, kept alive by `replicas.start()` (coordination.ts: the API's ReplicaCoordination).
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
 * - coordination.ts: this replica among the others (heartbeat and renewals, requeueing dead
 *   replicas' jobs, the dispatcher's turn, wake-ups by kind of work).
 * - observability.ts: the metrics reads of ../observability.ts.
 *
 * Retention (pruning) runs here through ../retention-sql.ts, the same decisions as on SQLite.
 *
 * Not here yet: the dispatcher holding the dispatcher lease and the loops listening for wakes; `status`/`/metrics` showing `replicas.list()`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { StoreApi } from '../api.ts';
import type { EventInsertRow } from '../events.ts';
import type { InboxWrite } from '../inbox.ts';
import { PgReplicaCoordination } from './coordination.ts';
import { PgDaemonsTable } from './daemons.ts';
import { checkPostgresUrl, PgDatabase, type PostgresOptions } from './database.ts';
import { PgEventsTable } from './events.ts';
import { PgJobsTable } from './jobs.ts';
import { PgLeasesTable } from './leases.ts';
import { migrate } from './migrate.ts';
import { PgWakeListener, wake, type WakeCallback } from './notify.ts';
import { PgObservabilityReads } from './observability.ts';
import { PgOutboxTable } from './outbox.ts';
import { PgRejectedTable } from './rejected.ts';
import { PgReplicasTable } from './replicas.ts';
import { PgStateTable } from './state.ts';

export { checkPostgresUrl, isPostgresStoreError, isUniqueViolation, PgDatabase, PostgresUrlError, withTransaction } from './database.ts';
export type { PostgresOptions, Queryable, SqlParam } from './database.ts';
export { PgReplicaCoordination, type ReplicaBeat, type ReplicaOptions } from './coordination.ts';
export { PgDaemonsTable } from './daemons.ts';
export { PgEventsTable, type InsertEventMeta } from './events.ts';
export { PgJobsTable, type ClaimedJob, type JobLease } from './jobs.ts';
export { DISPATCHER_LEASE, LeaseLostError, PgLeasesTable, type LeaseRecord } from './leases.ts';
export { migrate, MIGRATION_LOCK_KEY, schemaVersion } from './migrate.ts';
export { postgresMigrations } from './migrations.ts';
export { PgWakeListener, wake, WakeChannel, type WakeCallback } from './notify.ts';
export { PgObservabilityReads } from './observability.ts';
export { PgOutboxTable } from './outbox.ts';
export { PgRejectedTable } from './rejected.ts';
export { PgReplicasTable, type ReplicaRecord } from './replicas.ts';
export { PgStateTable } from './state.ts';

/** How long a replica's claims (running jobs, outbox rows) hold without a renewal, by default. */
export const DEFAULT_LEASE_MS = 30_000;

export interface PostgresStoreOptions extends PostgresOptions {
  /** Bytes of a rejected message's body kept (`retention.rejectedRawBytes`). @default 65536 */
  rejectedRawBytes?: number | undefined;
  /** This replica's id: whom its job and outbox claims name. @default `${hostname}-${pid}-${random}` */
  replicaId?: string | undefined;
  /** How long this replica's claims hold without a renewal (`replicas.start()` renews them every third of it). @default 30000 */
  leaseMs?: number | undefined;
}

/** A replica id unique enough across hosts and restarts. */
function defaultReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The URL without its password, for logs and status. */
function withoutPassword(url: string): string {
  const parsed = checkPostgresUrl(url);
  parsed.password = '';
  return parsed.toString();
}

/**
 * The store on PostgreSQL, as one replica of several sharing the database: the async store API
 * (../api.ts), plus what replicas share (named leases, the replicas table, wake-ups). Job claims
 * and `outbox.pending` are made for `replicaId` under `leaseMs`; `replicas.start()` keeps them alive.
 */
export class PostgresStore implements StoreApi {
  readonly backend = 'postgres' as const;
  readonly db: PgDatabase;
  /** The URL connected to, password included (the wake listener connects with it). */
  readonly url: string;
  readonly location: string;
  readonly replicaId: string;
  readonly leaseMs: number;
  readonly events: PgEventsTable;
  readonly rejected: PgRejectedTable;
  readonly outbox: PgOutboxTable;
  readonly jobs: PgJobsTable;
  readonly state: PgStateTable;
  readonly daemons: PgDaemonsTable;
  readonly observability: PgObservabilityReads;
  readonly leases: PgLeasesTable;
  /** This replica among the others: heartbeat and renewals (`start`/`stop`), the dispatcher's turn, wake-ups. */
  readonly replicas: PgReplicaCoordination;
  /** The replicas table itself (registrations, heartbeats, what each holds). */
  readonly replicaTable: PgReplicasTable;
  #listener: PgWakeListener | undefined;
  #closed = false;

  /** The renewals' own connection (see PgReplicaCoordination): never queued behind the pool's work. */
  readonly #renewalDb: PgDatabase;

  private constructor(db: PgDatabase, renewalDb: PgDatabase, options: PostgresStoreOptions & { replicaId: string; leaseMs: number }) {
    this.db = db;
    this.#renewalDb = renewalDb;
    this.url = db.url;
    this.location = withoutPassword(db.url);
    this.replicaId = options.replicaId;
    this.leaseMs = options.leaseMs;
    const replica = { replicaId: this.replicaId, leaseMs: this.leaseMs };
    this.events = new PgEventsTable(db);
    this.rejected = new PgRejectedTable(db, { rawBytesKept: options.rejectedRawBytes });
    this.outbox = new PgOutboxTable(db, replica);
    this.jobs = new PgJobsTable(db, replica);
    this.state = new PgStateTable(db);
    this.daemons = new PgDaemonsTable(db);
    this.observability = new PgObservabilityReads(db);
    this.leases = new PgLeasesTable(db);
    this.replicaTable = new PgReplicasTable(db);
    const renewals = { replicas: new PgReplicasTable(renewalDb), jobs: new PgJobsTable(renewalDb, replica), outbox: new PgOutboxTable(renewalDb, replica), leases: new PgLeasesTable(renewalDb) };
    this.replicas = new PgReplicaCoordination(
      db,
      replica,
      { replicas: this.replicaTable, jobs: this.jobs, outbox: this.outbox, leases: this.leases },
      renewals,
      (channel, callback) => this.onWake(channel, callback),
    );
  }

  /** Connects to `url` and brings its schema up to date (once, whoever else opens it at the same time). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const replicaId = options.replicaId ?? defaultReplicaId();
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new RangeError(`leaseMs must be a positive number of milliseconds, got ${leaseMs}`);
    const applicationName = options.applicationName ?? `relengd ${replicaId}`;
    const db = new PgDatabase(url, { ...options, applicationName });
    // One connection, opened on the first renewal and kept: a renewal never waits for the pool.
    const renewalDb = new PgDatabase(url, { maxConnections: 1, applicationName: `${applicationName} renewals` });
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      await renewalDb.close();
      throw error;
    }
    return new PostgresStore(db, renewalDb, { ...options, replicaId, leaseMs });
  }

  isOpen(): boolean {
    return !this.#closed;
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

  /**
   * Stores inbox writes (the SQLite store's rows: ../inbox.ts) in one transaction; for each, whether
   * it stored a row. The events go in one statement, in order: an id stored earlier, or earlier in
   * the batch, stores none.
   */
  writeInbox(writes: readonly InboxWrite[]): Promise<boolean[]> {
    return this.db.transaction(async () => {
      const stored = new Array<boolean>(writes.length).fill(true);
      const events: Array<{ at: number; row: EventInsertRow }> = [];
      for (const [at, write] of writes.entries()) {
        if (write.table === 'events') events.push({ at, row: write.row });
        else await this.rejected.insertRow(write.row);
      }
      const fresh = await this.events.insertRows(events.map((e) => e.row));
      for (const [i, { at }] of events.entries()) stored[at] = fresh[i]!;
      return stored;
    });
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

  /** Stops the replica (handing over what it holds) and closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.replicas.stop();
    } finally {
      this.#closed = true;
      await this.#listener?.close();
      this.#listener = undefined;
      await this.#renewalDb.close();
      await this.db.close();
    }
  }
}
