import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

export const JobState = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  interrupted: 'interrupted',
  cancelled: 'cancelled',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export interface NewJobRow {
  id: string;
  kind: string;
  /** Jobs with the same queue key run one at a time, oldest first (composes of one ref). */
  queueKey: string;
  spec: unknown;
  causeEventId: string;
  correlationId: string;
  listener: string;
}

export interface JobRow extends NewJobRow {
  state: JobState;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  logPath: string | null;
  result: unknown;
  error: string | null;
  /** Ids of the events the job's outcome emitted (its result events). */
  emitted: string[];
  /** How many times an operator had the job run again (`relengd jobs retry`). */
  retries: number;
}

/** Listener state namespace holding accepted retry and cancel commands until the job runner applies them. */
export const JOB_CONTROL = 'job-control';

/** A retry or cancel the job runner is to apply (written by the job-control listener, keyed by the command's id). */
export interface JobControlRequest {
  action: 'retry' | 'cancel';
  jobId: string;
  /** The command's authenticated sender. */
  requestedBy: string | null;
  commandId: string;
  correlationId: string;
  /** When the command was sent: requests are applied oldest first. */
  at: string;
}

/** Jobs: effects the listeners decided (compose, build, promote), run by the job runner. */
export class JobsTable {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #byId: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT INTO jobs (id, kind, queue_key, state, spec, cause_event_id, correlation_id, listener, created_at)
      VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`);
    this.#byId = db.prepare('SELECT * FROM jobs WHERE id = ?');
  }

  /** Enqueues a job unless its (deterministic) id exists. Returns true when it was new. */
  insert(job: NewJobRow, at: string): boolean {
    return this.#insert.run(job.id, job.kind, job.queueKey, JSON.stringify(job.spec), job.causeEventId, job.correlationId, job.listener, at).changes === 1;
  }

  /**
   * Claims the oldest queued job whose queue key has no running job: marks it running, counts the
   * attempt. Call inside a transaction with the write that records its log path.
   */
  claimNext(at: string, logPathFor: (job: JobRow) => string, onlyKinds?: readonly string[]): JobRow | undefined {
    // `onlyKinds`: claim only jobs of these kinds (the runner's slots are full; jobs that only wait still run).
    const kinds = onlyKinds === undefined ? '' : `AND kind IN (${onlyKinds.map(() => '?').join(', ') || 'NULL'})`;
    const row = this.#db
      .prepare(`SELECT * FROM jobs j WHERE state = 'queued' ${kinds}
        AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.queue_key = j.queue_key AND r.state = 'running')
        ORDER BY created_at, rowid LIMIT 1`)
      .get(...(onlyKinds ?? [])) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    const job = toJob(row);
    const logPath = logPathFor(job);
    this.#db.prepare(`UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1, log_path = ? WHERE id = ?`).run(at, logPath, job.id);
    return { ...job, state: 'running', startedAt: at, attempts: job.attempts + 1, logPath };
  }

  /** Records how a job ended. */
  finish(id: string, outcome: { state: 'succeeded' | 'failed' | 'cancelled' | 'interrupted'; result?: unknown; error?: string | null; emitted?: readonly string[] }, at: string): void {
    this.#db
      .prepare('UPDATE jobs SET state = ?, finished_at = ?, result = ?, error = ?, emitted = ? WHERE id = ?')
      .run(outcome.state, at, outcome.result === undefined ? null : JSON.stringify(outcome.result), outcome.error ?? null, JSON.stringify(outcome.emitted ?? []), id);
  }

  /** Jobs that ended, caused by any of these events (replay checks their outcome events still exist). */
  finishedFor(causeEventIds: readonly string[]): JobRow[] {
    const out: JobRow[] = [];
    const stmt = this.#db.prepare(`SELECT * FROM jobs WHERE cause_event_id = ? AND state IN ('succeeded', 'failed')`);
    for (const id of causeEventIds) for (const row of stmt.all(id) as Array<Record<string, unknown>>) out.push(toJob(row));
    return out;
  }

  /**
   * Queues a failed or cancelled job again (an operator's retry), keeping its attempt count (so its
   * executor reads back what earlier attempts left) and counting the retry.
   * @returns false when the job is in another state (nothing changed).
   */
  retry(id: string): boolean {
    return (
      this.#db
        .prepare(`UPDATE jobs SET state = 'queued', retries = retries + 1, finished_at = NULL, result = NULL, error = NULL, emitted = '[]' WHERE id = ? AND state IN ('failed', 'cancelled')`)
        .run(id).changes === 1
    );
  }

  /** Puts a job back in the queue (after an interruption), keeping its attempt count. */
  /** Queues a job a crashed run left running or interrupted (a start's recovery), unless it ended meanwhile. @returns whether it did. */
  requeueUnfinished(id: string): boolean {
    return Number(this.#db.prepare(`UPDATE jobs SET state = 'queued', finished_at = NULL WHERE id = ? AND state IN ('running', 'interrupted')`).run(id).changes) === 1;
  }

  requeue(id: string): void {
    this.#db.prepare(`UPDATE jobs SET state = 'queued', finished_at = NULL WHERE id = ?`).run(id);
  }

  get(id: string): JobRow | undefined {
    const row = this.#byId.get(id) as Record<string, unknown> | undefined;
    return row && toJob(row);
  }

  /** The newest `kind` job of `stream` for compose `composeId` (a compose id names the group's compose, shared by its arches). */
  ofCompose(kind: string, composeId: string, stream: string): JobRow | undefined {
    const row = this.#db
      .prepare(`SELECT * FROM jobs WHERE kind = ? AND json_extract(spec, '$.composeId') = ? AND json_extract(spec, '$.stream') = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`)
      .get(kind, composeId, stream) as Record<string, unknown> | undefined;
    return row && toJob(row);
  }

  list(filter: { state?: JobState | undefined; kind?: string | undefined; limit?: number | undefined } = {}): JobRow[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.state) (where.push('state = ?'), params.push(filter.state));
    if (filter.kind) (where.push('kind = ?'), params.push(filter.kind));
    params.push(filter.limit ?? 1000);
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...params) as Array<Record<string, unknown>>).map(toJob);
  }

  countByState(): Record<string, number> {
    const rows = this.#db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }
}

/** A jobs row as read (either backend). */
export function toJob(row: Record<string, unknown>): JobRow {
  return {
    id: row.id as string,
    kind: row.kind as string,
    queueKey: row.queue_key as string,
    state: row.state as JobState,
    spec: JSON.parse(row.spec as string) as unknown,
    causeEventId: row.cause_event_id as string,
    correlationId: row.correlation_id as string,
    listener: row.listener as string,
    attempts: row.attempts as number,
    createdAt: row.created_at as string,
    startedAt: row.started_at as string | null,
    finishedAt: row.finished_at as string | null,
    logPath: row.log_path as string | null,
    result: row.result === null ? null : (JSON.parse(row.result as string) as unknown),
    error: row.error as string | null,
    emitted: JSON.parse((row.emitted as string | undefined) ?? '[]') as string[],
    retries: (row.retries as number | undefined) ?? 0,
  };
}
