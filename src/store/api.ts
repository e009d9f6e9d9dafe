/**
 * The store as relengd's loops and verbs use it: async, so one API serves both backends (issue 11):
 * SQLite (`store.path`, one machine: ./sqlite-store.ts over the synchronous tables) and PostgreSQL
 * (`store.url`, several replicas: ./postgres/). Method names and meanings are the SQLite tables'.
 *
 * Transactions: `transaction(fn)` commits everything `fn` wrote through this store, or nothing; a
 * nested call is a savepoint. Backends find the transaction in scope through async context, so
 * table calls made inside `fn` (and whatever it awaits) join it, and calls from other work wait or
 * use another connection: they never land in someone else's transaction.
 */
import type { Envelope } from '../events/envelope.ts';
import type { DaemonRecord } from './daemons.ts';
import type { DispatchState, EventOrigin, EventQuery, EventRowMeta, StoredEvent } from './events.ts';
import type { InboxWrite } from './inbox.ts';
import type { JobRow, JobState, NewJobRow } from './jobs.ts';
import type { ObservedEvent, ObservedJobRun, ObservedJobStart } from './observability.ts';
import type { OutboxItem } from './outbox.ts';
import type { RejectedRow, Rejection, StoredRejection } from './rejected.ts';

export type StoreBackend = 'sqlite' | 'postgres';

export interface EventsApi {
  /** Inserts an event unless its id is known (the inbox's duplicate check); whether it stored a row. */
  insert(envelope: Envelope, meta: EventRowMeta): Promise<boolean>;
  has(id: string): Promise<boolean>;
  get(id: string): Promise<StoredEvent | undefined>;
  pending(limit: number): Promise<StoredEvent[]>;
  markDispatched(seq: number, at: string): Promise<void>;
  markDispatchFailed(event: StoredEvent, error: string, maxAttempts: number): Promise<void>;
  resetDispatch(seqs: readonly number[]): Promise<void>;
  delete(id: string): Promise<boolean>;
  lastInboundTime(): Promise<string | null>;
  count(): Promise<number>;
  countsByState(): Promise<Array<{ origin: EventOrigin; state: DispatchState; n: number }>>;
  raw(id: string): Promise<Uint8Array | null>;
  query(q: EventQuery): Promise<StoredEvent[]>;
}

export type JobOutcomeWrite = { state: 'succeeded' | 'failed' | 'cancelled' | 'interrupted'; result?: unknown; error?: string | null; emitted?: readonly string[] };

export interface JobsApi {
  insert(job: NewJobRow, at: string): Promise<boolean>;
  /**
   * Claims the oldest queued job whose queue key has none running (one job per ref at a time, across
   * every process on this store) and marks it running. On PostgreSQL the claim carries this
   * replica's lease; a job whose replica stopped renewing it is queued again for another.
   */
  claimNext(at: string, logPathFor: (job: JobRow) => string, onlyKinds?: readonly string[]): Promise<JobRow | undefined>;
  finish(id: string, outcome: JobOutcomeWrite, at: string): Promise<void>;
  finishedFor(causeEventIds: readonly string[]): Promise<JobRow[]>;
  retry(id: string): Promise<boolean>;
  /** Queues a job a crashed run left running or interrupted, unless it ended meanwhile or another replica runs it under a live lease. @returns whether it did. */
  requeueUnfinished(id: string): Promise<boolean>;
  /** Queues a job again whatever its state (replay re-runs a finished job whose outcome is missing). */
  requeue(id: string): Promise<void>;
  get(id: string): Promise<JobRow | undefined>;
  ofCompose(kind: string, composeId: string, stream: string): Promise<JobRow | undefined>;
  list(filter?: { state?: JobState | undefined; kind?: string | undefined; limit?: number | undefined }): Promise<JobRow[]>;
  countByState(): Promise<Record<string, number>>;
}

export interface OutboxApi {
  add(eventId: string, routingKey: string, at: string): Promise<void>;
  /** Rows to publish, oldest first. On PostgreSQL, claimed for this replica until sent or released. */
  pending(limit: number): Promise<OutboxItem[]>;
  markSent(eventId: string, at: string): Promise<void>;
  markFailed(eventId: string, error: string): Promise<void>;
  countPending(): Promise<number>;
}

export interface StateApi {
  get(namespace: string, key: string): Promise<unknown>;
  list(namespace: string): Promise<Array<{ key: string; value: unknown }>>;
  put(namespace: string, key: string, value: unknown, at: string, by: string): Promise<void>;
}

export interface RejectedApi {
  insert(r: Rejection): Promise<void>;
  /** A rejection's row (its body cut to the bytes kept), decided before any transaction: for {@link StoreApi.writeInbox}. */
  row(r: Rejection): RejectedRow;
  list(limit?: number): Promise<StoredRejection[]>;
  count(): Promise<number>;
}

export interface DaemonsApi {
  register(d: DaemonRecord): Promise<void>;
  beat(id: string, at: string): Promise<void>;
  remove(id: string): Promise<void>;
  /** Removes the daemons whose last heartbeat is older than `cutoff` (ISO time). @returns how many */
  forgetSilentSince(cutoff: string): Promise<number>;
  list(): Promise<DaemonRecord[]>;
}

/** The reads behind /metrics and the silence watch (./observability.ts), async. */
export interface ObservabilityApi {
  eventsAfter(topic: string, afterSeq: number): Promise<ObservedEvent[]>;
  rejectedAfter(afterSeq: number): Promise<Array<{ seq: number; transport: string; reason: string }>>;
  jobsStartedSince(since: string): Promise<ObservedJobStart[]>;
  jobsFinishedSince(since: string): Promise<ObservedJobRun[]>;
  acceptedAtOf(eventId: string): Promise<string | null>;
  oldestPendingOutbox(): Promise<string | null>;
  lastInbound(topic: string): Promise<string | null>;
}

/** Kinds of new work a replica learns of from the others (PostgreSQL LISTEN/NOTIFY). */
export type WorkKind = 'events' | 'jobs' | 'outbox';

/** A replica as `status` and `/metrics` show it. */
export interface ReplicaStatus {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
  /** Whether its heartbeat is older than the lease: the others take its work over. */
  stale: boolean;
  /** Jobs it holds a lease on, and whether it holds the dispatcher's turn. */
  jobLeases: number;
  dispatching: boolean;
}

/**
 * What several processes sharing one store need (PostgreSQL only): who dispatches, heartbeats that
 * keep this replica's claims, and wake-ups when another replica adds work.
 */
export interface ReplicaCoordination {
  readonly replicaId: string;
  /**
   * Registers this replica and starts renewing its heartbeat, job leases and outbox claims (a timer
   * that does not keep the process alive). `onBeat` hears which of its running jobs each renewal
   * kept (one missing was claimed by another replica after this one's lease lapsed) and which jobs
   * of dead replicas it queued again; `onError`, a
   * renewal that failed (the next tries again).
   */
  start(options?: { onBeat?: ((beat: { readonly jobs: readonly string[]; readonly requeued?: readonly string[] }) => void) | undefined; onError?: ((error: unknown) => void) | undefined }): Promise<void>;
  /** Stops renewing and removes this replica (its leases are released, not left to expire). */
  stop(): Promise<void>;
  /**
   * Takes or renews this replica's turn to dispatch: one dispatcher at a time, so listener state
   * sees events in store order (./postgres/leases.ts says why a lease and not per-key locks).
   */
  takeDispatchTurn(): Promise<boolean>;
  /** Inside the dispatch transaction: fails it (retriable) when the turn lapsed, so a lapsed dispatcher commits nothing. */
  assertDispatchTurn(): Promise<void>;
  /** Calls `callback` whenever any replica (this one too) adds work of `kind`. @returns a function that stops it. */
  onWork(kind: WorkKind, callback: () => void): Promise<() => Promise<void>>;
  list(): Promise<ReplicaStatus[]>;
}

export interface StoreApi {
  readonly backend: StoreBackend;
  /** Where the store is, for logs and status: the SQLite file's path, or the PostgreSQL URL without its password. */
  readonly location: string;
  readonly events: EventsApi;
  readonly rejected: RejectedApi;
  readonly outbox: OutboxApi;
  readonly jobs: JobsApi;
  readonly state: StateApi;
  readonly daemons: DaemonsApi;
  readonly observability: ObservabilityApi;
  /** Present when several processes share this store (PostgreSQL); absent on SQLite (one process). */
  readonly replicas?: ReplicaCoordination | undefined;
  /** Whether the store can still be used (not closed). */
  isOpen(): boolean;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Within a transaction, undoes only what `fn` wrote when it throws. */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` and undoes everything it wrote, whether it succeeds or throws: what `fn` reports is what it would have done. */
  dryRun<T>(fn: () => Promise<T>): Promise<T>;
  /** Stores inbox writes (./inbox.ts) in one transaction; for each, whether it stored a row. */
  writeInbox(writes: readonly InboxWrite[]): Promise<boolean[]>;
  close(): Promise<void>;
}
