import { hostname } from 'node:os';
import type { ReplicaCoordination, ReplicaStatus, WorkKind } from '../api.ts';
import { FORGET_EVERY_MS, FORGET_SILENT_AFTER_MS } from '../daemons.ts';
import type { PgDatabase } from './database.ts';
import type { PgJobsTable } from './jobs.ts';
import { DISPATCHER_LEASE, type PgLeasesTable } from './leases.ts';
import { WakeChannel, type WakeCallback } from './notify.ts';
import type { PgOutboxTable } from './outbox.ts';
import type { PgReplicasTable } from './replicas.ts';

/** What one renewal of a replica's claims did (`start`'s `onBeat`). */
export interface ReplicaBeat {
  /** This replica's running jobs whose lease was renewed. */
  jobs: string[];
  /** Outbox rows this replica holds whose claim was renewed. */
  outbox: number;
  /** Named leases (the dispatcher's turn) this replica holds, renewed. */
  named: string[];
  /** Other replicas' running jobs whose lease had run out, queued again. */
  requeued: string[];
}

export interface ReplicaOptions {
  /** Called with each renewal's outcome. */
  onBeat?: ((beat: ReplicaBeat) => void) | undefined;
  /** Called when a renewal fails: the next one tries again, and claims hold until their lease runs out. */
  onError?: ((error: unknown) => void) | undefined;
}

/** The tables a replica coordinates through. */
export interface ReplicaTables {
  replicas: PgReplicasTable;
  jobs: PgJobsTable;
  outbox: PgOutboxTable;
  leases: PgLeasesTable;
}

const WORK_CHANNELS: Record<WorkKind, WakeChannel> = { events: WakeChannel.events, jobs: WakeChannel.jobs, outbox: WakeChannel.outbox };

/**
 * One replica of several sharing the PostgreSQL store (../api.ts `ReplicaCoordination`): its
 * registration and heartbeat, the renewal of what it holds, the dispatcher's turn, wake-ups.
 *
 * Renewals run on a connection of their own (`renewals`' tables). On the shared pool they queued
 * behind intake batches and the dispatcher under load, and a renewal that waited past a short lease
 * let another replica take over a job that was still running.
 */
export class PgReplicaCoordination implements ReplicaCoordination {
  readonly replicaId: string;
  readonly leaseMs: number;
  readonly #db: PgDatabase;
  readonly #tables: ReplicaTables;
  readonly #renewals: ReplicaTables;
  readonly #onWake: (channel: string, callback: WakeCallback) => Promise<() => Promise<void>>;
  #timer: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #beating: Promise<void> | undefined;
  /** When this replica last forgot the replicas silent for a day (0: not yet). */
  #forgottenAt = 0;

  constructor(
    db: PgDatabase,
    replica: { replicaId: string; leaseMs: number },
    tables: ReplicaTables,
    renewals: ReplicaTables,
    onWake: (channel: string, callback: WakeCallback) => Promise<() => Promise<void>>,
  ) {
    this.#db = db;
    this.replicaId = replica.replicaId;
    this.leaseMs = replica.leaseMs;
    this.#tables = tables;
    this.#renewals = renewals;
    this.#onWake = onWake;
  }

  /** Whether `start` runs (and `stop` has not been called since). */
  get started(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Registers this replica, then every third of `leaseMs` renews its heartbeat, its running jobs'
   * leases, its outbox claims and its dispatcher turn, and queues again the jobs of replicas whose
   * leases ran out. The timer does not keep the process alive. Calling it again does nothing.
   * @throws when the registration or the first renewal fails
   */
  start(options: ReplicaOptions = {}): Promise<void> {
    if (this.#timer) return Promise.resolve();
    // Timers keep the async context they were made in: made outside any transaction, their queries never join one.
    this.#starting ??= this.#db
      .outsideTransaction(async () => {
        await this.#register();
        await this.#beat(options);
        this.#timer = setInterval(() => void this.#beatOnce(options), Math.max(1, Math.floor(this.leaseMs / 3)));
        this.#timer.unref();
      })
      .finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  /**
   * A clean stop: no more renewals, and what this replica holds (running jobs, outbox rows, the
   * dispatcher's turn) goes to the other replicas at once instead of when its leases run out.
   * Does nothing when not started.
   */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    await this.#db.outsideTransaction(() => this.#tables.replicas.remove(this.replicaId));
  }

  takeDispatchTurn(): Promise<boolean> {
    return this.#tables.leases.acquire(DISPATCHER_LEASE, this.replicaId, this.leaseMs);
  }

  /** @throws LeaseLostError (retriable) when this replica's turn lapsed; outside a transaction, TypeError */
  assertDispatchTurn(): Promise<void> {
    return this.#tables.leases.assertHeld(DISPATCHER_LEASE, this.replicaId);
  }

  onWork(kind: WorkKind, callback: () => void): Promise<() => Promise<void>> {
    return this.#onWake(WORK_CHANNELS[kind], () => callback());
  }

  /** Every registered replica, newest heartbeat first; stale when its heartbeat is older than this replica's lease. */
  async list(): Promise<ReplicaStatus[]> {
    return (await this.#tables.replicas.list()).map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      startedAt: r.startedAt.toISOString(),
      heartbeatAt: r.heartbeatAt.toISOString(),
      stale: r.heartbeatAgeMs > this.leaseMs,
      jobLeases: r.leases.jobs.length,
      dispatching: r.leases.named.includes(DISPATCHER_LEASE),
    }));
  }

  #register(): Promise<void> {
    return this.#tables.replicas.register({ id: this.replicaId, host: hostname(), pid: process.pid });
  }

  /** One renewal, unless the previous one is still under way (a slow server must not pile them up). */
  #beatOnce(options: ReplicaOptions): Promise<void> {
    this.#beating ??= this.#beat(options)
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => (this.#beating = undefined));
    return this.#beating;
  }

  async #beat(options: ReplicaOptions): Promise<void> {
    const { replicas, jobs, outbox, leases } = this.#renewals;
    // Removed meanwhile (forgotten by another replica after a long silence, or an operator's cleanup): register again.
    if (!(await replicas.heartbeat(this.replicaId))) await this.#register();
    const beat: ReplicaBeat = {
      jobs: await jobs.heartbeat(this.replicaId, this.leaseMs),
      outbox: await outbox.renewClaims(this.replicaId, this.leaseMs),
      named: await leases.renewHeld(this.replicaId, this.leaseMs),
      requeued: await jobs.requeueExpired(),
    };
    options.onBeat?.(beat);
    // As it starts and hourly: a replica killed more than a day ago is no longer listed.
    if (Date.now() - this.#forgottenAt >= FORGET_EVERY_MS) {
      this.#forgottenAt = Date.now();
      await replicas.forgetSilentFor(FORGET_SILENT_AFTER_MS);
    }
  }
}
