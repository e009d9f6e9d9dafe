import { toJob, type JobRow, type JobState, type NewJobRow } from '../jobs.ts';
import type { PgDatabase, SqlParam } from './database.ts';
import { LeaseLostError } from './leases.ts';
import { wake, WakeChannel } from './notify.ts';

/** Who claims a job and for how long: the lease a replica renews while the job runs (`heartbeat`); the store's replica's. */
export interface JobLease {
  replicaId: string;
  /** How long the claim holds without a heartbeat, on the server's clock. */
  leaseMs: number;
}

/** A job claimed by a replica: the row, its lease, and whether a replica that died had it running. */
export interface ClaimedJob extends JobRow {
  claimedBy: string;
  leaseExpiresAt: Date;
  /**
   * The job was running on a replica whose lease expired (it died or hung): this is a new attempt
   * of a job that may have done part of its work; its executor reads back what the earlier one left.
   */
  reclaimedFrom: string | null;
}

type Row = Record<string, unknown>;

/** How many queue keys' heads one claim tries (keys another replica is claiming in are skipped). */
const CLAIM_WINDOW = 16;

const lease = (param: string): string => `now() + make_interval(secs => ${param}::float8 / 1000)`;

/**
 * Jobs on PostgreSQL, shared by the replicas: the SQLite store's JobsTable methods, async, plus
 * claims under a lease. A job is claimed with `FOR UPDATE SKIP LOCKED` (claimers never wait on
 * each other's rows); one job per queue key runs at a time across all replicas, oldest first; a
 * running job whose lease expired (its replica died) is claimed again by another replica, counting
 * the attempt. Claims, outcomes and requeues are this store's replica's (`replica`).
 */
export class PgJobsTable {
  readonly #db: PgDatabase;
  readonly #replica: JobLease;

  constructor(db: PgDatabase, replica: JobLease) {
    this.#db = db;
    this.#replica = replica;
  }

  /** Enqueues a job unless its (deterministic) id exists. Returns true when it was new. */
  async insert(job: NewJobRow, at: string): Promise<boolean> {
    // A new job wakes the replicas' runners (on commit), in the same round trip.
    const { rowCount } = await this.#db.query(
      `WITH inserted AS (
         INSERT INTO jobs (id, kind, queue_key, state, spec, cause_event_id, correlation_id, listener, created_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id)
       SELECT pg_notify('${WakeChannel.jobs}', '') FROM inserted`,
      [job.id, job.kind, job.queueKey, JSON.stringify(job.spec), job.causeEventId, job.correlationId, job.listener, at],
    );
    return rowCount === 1;
  }

  /**
   * Claims the oldest claimable job for this store's replica: a queued job whose queue key has no
   * running job and no older queued job, or a running job whose lease expired (reclaimed before
   * anything queued behind it in its key). Marks it running under the lease and counts the attempt.
   *
   * Serialisation per queue key: the claimer reads each key's head (its oldest claimable job, without
   * locking), takes a transaction-scoped advisory lock on the key (try, never wait: another replica
   * is claiming in it), locks the head row with `FOR UPDATE SKIP LOCKED`, and checks the key again
   * in a fresh snapshot (a job of the key started, or an older one was inserted, since the head was
   * read). Claimers never wait on each other nor lock rows they do not claim (locking a window of
   * candidate rows instead made concurrent claimers find nothing). The unique index
   * `jobs_one_running_per_key` turns any slip into an error rather than two composes of one ref.
   */
  async claimNext(at: string, logPathFor: (job: JobRow) => string, onlyKinds?: readonly string[]): Promise<ClaimedJob | undefined> {
    const claim = this.#replica;
    return this.#db.transaction(async () => {
      const params: SqlParam[] = [];
      const kinds = kindFilter(onlyKinds, params);
      params.push(claim.replicaId);
      const me = `$${params.length}`;
      params.push(CLAIM_WINDOW);
      // Each key's head: its expired running job if any, else its oldest queued one. Never one this
      // replica still runs itself (a renewal came late): its runner would run it twice at once.
      const { rows: heads } = await this.#db.query<{ id: string; queue_key: string }>(
        `SELECT id, queue_key FROM (
           SELECT DISTINCT ON (queue_key) id, queue_key, state, created_at, seq FROM jobs
           WHERE (state = 'queued' OR (state = 'running' AND lease_expires_at < now() AND claimed_by IS DISTINCT FROM ${me})) ${kinds}
           ORDER BY queue_key, state = 'running' DESC, created_at, seq) head
         WHERE NOT EXISTS (SELECT 1 FROM jobs r WHERE r.queue_key = head.queue_key AND r.state = 'running' AND r.id <> head.id
                           AND (r.lease_expires_at IS NULL OR r.lease_expires_at >= now()))
         ORDER BY created_at, seq LIMIT $${params.length}`,
        params,
      );
      for (const head of heads) {
        const { rows: locked } = await this.#db.query<{ locked: boolean }>(
          `SELECT pg_try_advisory_xact_lock(hashtextextended('relengd.jobs.queue-key:' || $1, 0)) AS locked`,
          [head.queue_key],
        );
        if (!locked[0]?.locked) continue; // another replica is claiming in this key right now
        const { rows } = await this.#db.query<Row>(
          `SELECT * FROM jobs WHERE id = $1 AND (state = 'queued' OR (state = 'running' AND lease_expires_at < now() AND claimed_by IS DISTINCT FROM $2)) FOR UPDATE SKIP LOCKED`,
          [head.id, claim.replicaId],
        );
        const row = rows[0];
        if (!row) continue; // claimed meanwhile
        const reclaim = row.state === 'running';
        if (!reclaim && (await this.#keyBusy(row, onlyKinds))) continue;
        const job = toJob(row);
        const logPath = logPathFor(job);
        const { rows: updated } = await this.#db.query<Row>(
          `UPDATE jobs SET state = 'running', started_at = $1, attempts = attempts + 1, log_path = $2,
             claimed_by = $3, lease_expires_at = ${lease('$4')}
           WHERE id = $5 RETURNING *`,
          [at, logPath, claim.replicaId, claim.leaseMs, job.id],
        );
        const claimed = updated[0]!;
        return {
          ...toJob(claimed),
          claimedBy: claim.replicaId,
          leaseExpiresAt: claimed.lease_expires_at as Date,
          reclaimedFrom: reclaim ? ((row.claimed_by as string | null) ?? 'unknown') : null,
        };
      }
      return undefined;
    });
  }

  /** Whether the queued job's key, seen afresh under the key's lock, has a running job or an older queued one. */
  async #keyBusy(row: Row, onlyKinds: readonly string[] | undefined): Promise<boolean> {
    const params: SqlParam[] = [row.queue_key as string, row.id as string, row.created_at as string, row.seq as number];
    const kinds = kindFilter(onlyKinds, params);
    const { rows } = await this.#db.query<{ busy: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE queue_key = $1 AND id <> $2 AND
         (state = 'running' OR (state = 'queued' AND (created_at, seq) < ($3, $4) ${kinds}))) AS busy`,
      params,
    );
    return rows[0]?.busy ?? true;
  }

  /**
   * Renews the lease of every job `replicaId` has running (its heartbeat).
   * @returns the ids renewed: a job the runner runs that is missing was reclaimed by another replica
   * (this one's lease ran out), and this replica should stop it.
   */
  async heartbeat(replicaId: string, leaseMs: number): Promise<string[]> {
    // Never waits for a row lock: a row another transaction holds (this replica finishing or
    // claiming the job, another replica taking it over) is renewed at the next heartbeat. Waiting
    // held up every renewal after it, and deadlocked with other replicas' multi-row updates. The
    // answer is the jobs still this replica's (renewed now or not): a job another replica took is
    // missing from it.
    const { rows } = await this.#db.query<{ id: string }>(
      `WITH renewed AS (
         UPDATE jobs SET lease_expires_at = ${lease('$2')}
         WHERE id IN (SELECT id FROM jobs WHERE claimed_by = $1 AND state = 'running' FOR UPDATE SKIP LOCKED))
       SELECT id FROM jobs WHERE claimed_by = $1 AND state = 'running'`,
      [replicaId, leaseMs],
    );
    return rows.map((r) => r.id).sort();
  }

  /** Ends the leases `replicaId` holds now (a clean stop hands its running jobs to the other replicas at once). */
  async expireLeases(replicaId: string): Promise<number> {
    const { rowCount } = await this.#db.query(`UPDATE jobs SET lease_expires_at = now() - interval '1 millisecond' WHERE claimed_by = $1 AND state = 'running'`, [replicaId]);
    return rowCount;
  }

  /**
   * Records how a job ended, unless another replica has it running: this replica's lease on it ran
   * out and another claimed it again, whose attempt's outcome this must not overwrite (nor may the
   * caller's transaction commit the outcome events it wrote with it).
   * @throws LeaseLostError when another replica has the job running
   */
  async finish(
    id: string,
    outcome: { state: 'succeeded' | 'failed' | 'cancelled' | 'interrupted'; result?: unknown; error?: string | null; emitted?: readonly string[] },
    at: string,
  ): Promise<void> {
    const me = this.#replica.replicaId;
    const { rowCount } = await this.#db.query(
      `UPDATE jobs SET state = $1, finished_at = $2, result = $3, error = $4, emitted = $5, lease_expires_at = NULL
       WHERE id = $6 AND NOT coalesce(state = 'running' AND claimed_by <> $7, false)`,
      [outcome.state, at, outcome.result === undefined ? null : JSON.stringify(outcome.result), outcome.error ?? null, JSON.stringify(outcome.emitted ?? []), id, me],
    );
    if (rowCount === 1) {
      // The job's queue key is free: a job queued behind it may start on any replica.
      await wake(this.#db, WakeChannel.jobs);
      return;
    }
    const { rowCount: heldElsewhere } = await this.#db.query(`SELECT 1 FROM jobs WHERE id = $1 AND state = 'running' AND claimed_by <> $2`, [id, me]);
    if (heldElsewhere > 0) throw new LeaseLostError(`job ${id}`, me);
  }

  /** Jobs that ended, caused by any of these events (replay checks their outcome events still exist). */
  async finishedFor(causeEventIds: readonly string[]): Promise<JobRow[]> {
    if (causeEventIds.length === 0) return [];
    const { rows } = await this.#db.query<Row>(
      `SELECT * FROM jobs WHERE cause_event_id = ANY($1::text[]) AND state IN ('succeeded', 'failed') ORDER BY array_position($1::text[], cause_event_id), created_at, seq`,
      [causeEventIds],
    );
    return rows.map(toJob);
  }

  /**
   * Queues a failed or cancelled job again (an operator's retry), keeping its attempt count and
   * counting the retry. @returns false when the job is in another state (nothing changed).
   */
  async retry(id: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `UPDATE jobs SET state = 'queued', retries = retries + 1, finished_at = NULL, result = NULL, error = NULL, emitted = '[]',
         claimed_by = NULL, lease_expires_at = NULL
       WHERE id = $1 AND state IN ('failed', 'cancelled')`,
      [id],
    );
    if (rowCount === 1) await wake(this.#db, WakeChannel.jobs);
    return rowCount === 1;
  }

  /**
   * Puts a job back in the queue (after an interruption), keeping its attempt count. A job another
   * replica runs under a live lease is not interrupted and stays as it is (a replica starting
   * requeues what it finds running: its own jobs from before a restart, and dead replicas').
   */
  /**
   * Queues a job a crashed run left running or interrupted (a start's recovery), unless it ended
   * meanwhile or another replica runs it under a live lease. @returns whether it did.
   */
  async requeueUnfinished(id: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `UPDATE jobs SET state = 'queued', finished_at = NULL, claimed_by = NULL, lease_expires_at = NULL
       WHERE id = $1 AND state IN ('running', 'interrupted') AND NOT coalesce(state = 'running' AND claimed_by <> $2 AND lease_expires_at >= now(), false)`,
      [id, this.#replica.replicaId],
    );
    if (rowCount === 1) await wake(this.#db, WakeChannel.jobs);
    return rowCount === 1;
  }

  async requeue(id: string): Promise<void> {
    const { rowCount } = await this.#db.query(
      `UPDATE jobs SET state = 'queued', finished_at = NULL, claimed_by = NULL, lease_expires_at = NULL
       WHERE id = $1 AND NOT coalesce(state = 'running' AND claimed_by <> $2 AND lease_expires_at >= now(), false)`,
      [id, this.#replica.replicaId],
    );
    if (rowCount === 1) await wake(this.#db, WakeChannel.jobs);
  }

  /**
   * Queues again the running jobs of other replicas whose lease expired (they died or hung), keeping
   * their attempt counts: status shows them waiting, and any replica claims them.
   * @returns their ids
   */
  async requeueExpired(): Promise<string[]> {
    // Skips a row another transaction holds (its owner renewing or finishing it, another replica claiming it): looked at again next time.
    const { rows } = await this.#db.query<{ id: string }>(
      `UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_expires_at = NULL
       WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < now() AND claimed_by IS DISTINCT FROM $1 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [this.#replica.replicaId],
    );
    if (rows.length > 0) await wake(this.#db, WakeChannel.jobs);
    return rows.map((r) => r.id).sort();
  }

  async get(id: string): Promise<JobRow | undefined> {
    const { rows } = await this.#db.query<Row>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0] && toJob(rows[0]);
  }

  /** The newest `kind` job of `stream` for compose `composeId` (a compose id names the group's compose, shared by its arches). */
  async ofCompose(kind: string, composeId: string, stream: string): Promise<JobRow | undefined> {
    const { rows } = await this.#db.query<Row>(
      `SELECT * FROM jobs WHERE kind = $1 AND spec::jsonb ->> 'composeId' = $2 AND spec::jsonb ->> 'stream' = $3 ORDER BY created_at DESC, seq DESC LIMIT 1`,
      [kind, composeId, stream],
    );
    return rows[0] && toJob(rows[0]);
  }

  async list(filter: { state?: JobState | undefined; kind?: string | undefined; limit?: number | undefined } = {}): Promise<JobRow[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (filter.state) (params.push(filter.state), where.push(`state = $${params.length}`));
    if (filter.kind) (params.push(filter.kind), where.push(`kind = $${params.length}`));
    params.push(filter.limit ?? 1000);
    const { rows } = await this.#db.query<Row>(
      `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toJob);
  }

  /** Running jobs with who holds them and until when (status, metrics). */
  async leases(): Promise<Array<{ id: string; queueKey: string; claimedBy: string | null; leaseExpiresAt: Date | null; expired: boolean }>> {
    const { rows } = await this.#db.query<{ id: string; queue_key: string; claimed_by: string | null; lease_expires_at: Date | null; expired: boolean }>(
      `SELECT id, queue_key, claimed_by, lease_expires_at, coalesce(lease_expires_at < now(), false) AS expired FROM jobs WHERE state = 'running' ORDER BY created_at, seq`,
    );
    return rows.map((r) => ({ id: r.id, queueKey: r.queue_key, claimedBy: r.claimed_by, leaseExpiresAt: r.lease_expires_at, expired: r.expired }));
  }

  async countByState(): Promise<Record<string, number>> {
    const { rows } = await this.#db.query<{ state: string; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state');
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }
}

/** `AND kind IN (...)` for `onlyKinds` (nothing when undefined; no kind at all when empty), its values appended to `params`. */
function kindFilter(onlyKinds: readonly string[] | undefined, params: SqlParam[]): string {
  if (onlyKinds === undefined) return '';
  if (onlyKinds.length === 0) return 'AND false';
  params.push(onlyKinds);
  return `AND kind = ANY($${params.length}::text[])`;
}
