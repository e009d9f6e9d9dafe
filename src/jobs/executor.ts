import { join } from 'node:path';
import { RelengdError } from '../errors.ts';
import type { Topic } from '../events/catalogue.ts';
import type { Logger } from '../log.ts';
import type { JobRow } from '../store/jobs.ts';

/**
 * The executor contract. Executors are relengd's activities: all the I/O (rpm-ostree, lorax, koji,
 * ref moves) happens here, and what came of it returns as events, stored by the runner in the same
 * transaction as the job's final state.
 */

export interface JobContext {
  job: JobRow;
  /** `<jobs.workdir>/<job id>`: created for the job, the same directory on every attempt. */
  workdir: string;
  /** `<workdir>/job.log`: every attempt appends to it (the runner writes an attempt header line). */
  logPath: string;
  /**
   * Aborted when the runner stops (the job is recorded `interrupted` and re-run at the next start) or
   * an operator cancels the job (recorded `cancelled`, with the failure events): end work promptly.
   */
  signal: AbortSignal;
  /** The job's time budget (`jobs.timeoutMinutes`): pass it to `runCommand`. */
  timeoutMs: number;
  now(): Date;
  /** Carries jobId, kind, queueKey, correlationId and attempt. */
  logger: Logger;
  /**
   * True when an earlier attempt of this job was interrupted (daemon crash or shutdown): its work
   * may be partly or wholly done in `workdir`, so read results back before redoing them (a compose
   * whose commit-id file exists is not composed again). Any command of the earlier attempt that was
   * started with a pid file in `workdir` (see `pidFileIn`) has exited before `execute` is called.
   */
  recovering: boolean;
}

/** An event the job produced; stored and published as `topic` with an id derived from the job id and `key`. */
export interface JobEmit {
  /** A catalogue topic: the store refuses any other (the job is then recorded failed). */
  topic: Topic;
  /** Distinguishes the job's events: the same key on a re-run is the same event. */
  key: string;
  subject?: string;
  data: unknown;
}

/**
 * How a job ended. A failure of the work itself (the compose failed) is an outcome:
 * `{ state: 'failed', error, emit: [the failed event] }`. Throwing means something unexpected
 * went wrong: the runner records the job failed with the error's message and emits nothing.
 */
export interface JobOutcome {
  state: 'succeeded' | 'failed';
  /** Kept in the job row (JSON). */
  result?: unknown;
  /** Kept in the job row; for `failed`. */
  error?: string;
  emit: JobEmit[];
}

export interface Executor {
  /** The job kind it runs (`compose`, `installer`, `promote`, ...). One executor per kind. */
  kind: string;
  /**
   * The job spends its time waiting for something outside (a signature), not working: it takes none
   * of `jobs.concurrency`'s slots, and starts even when they are all taken, so an hour's wait
   * never holds up composes and builds.
   */
  waits?: boolean;
  execute(ctx: JobContext): Promise<JobOutcome>;
  /**
   * The events that say this job failed, for when the executor could not say it itself: it threw,
   * or the store refused its events. Listeners wait for a job's result event (the composer runs
   * one compose per ref until it hears back), so a failure without one would block them for good.
   */
  failureEvents?(job: JobRow, error: string, logPath: string): JobEmit[];
}

/** The reason `JobContext.signal` carries when the runner stops. */
export class JobInterruptedError extends RelengdError {
  constructor() {
    super('job runner stopping: job interrupted, to be re-run at the next start', { retriable: true });
  }
}

/**
 * Where a job's command writes its pid (`<workdir>/<name>.pid`). Pass it to `runCommand` as
 * `pidFile`: after a crash, the runner waits for that process to exit before the next attempt.
 */
export function pidFileIn(workdir: string, name = 'command'): string {
  return join(workdir, `${name}.pid`);
}
