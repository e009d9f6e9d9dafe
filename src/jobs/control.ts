import { RelengdError } from '../errors.ts';
import type { JobCancelled, JobControlRefused, JobRetried } from '../events/relengd/jobs.ts';
import type { StoreApi } from '../store/api.ts';
import { JOB_CONTROL, type JobControlRequest, type JobRow } from '../store/jobs.ts';
import type { JobEmit } from './executor.ts';

/**
 * Operators' retry and cancel requests, as the job runner applies them: what a request does to a
 * job in a given state, and the event that says what came of it. The runner does the doing.
 */

/** What to do with one request. */
export type ControlDecision =
  | { readonly action: 'retry'; readonly job: JobRow }
  /** Queued (or interrupted, waiting for the next start): it never runs; recorded cancelled at once. */
  | { readonly action: 'cancel'; readonly job: JobRow }
  /** Running in this runner: abort it; it is recorded cancelled when its attempt has ended. */
  | { readonly action: 'stop'; readonly job: JobRow }
  | { readonly action: 'refuse'; readonly job: JobRow | undefined; readonly reason: string };

const RETRIABLE = new Set(['failed', 'cancelled']);
const CANCELLABLE = new Set(['queued', 'interrupted']);

/** Decides a request against the job as the store has it; `runningHere` says whether this runner runs it. */
export function decideControl(request: Pick<JobControlRequest, 'action' | 'jobId'>, job: JobRow | undefined, runningHere: boolean): ControlDecision {
  if (!job) return { action: 'refuse', job, reason: `no job ${request.jobId}` };
  if (request.action === 'retry') {
    if (RETRIABLE.has(job.state)) return { action: 'retry', job };
    return { action: 'refuse', job, reason: `job ${job.id} is ${job.state}; only a failed or cancelled job can be retried` };
  }
  if (CANCELLABLE.has(job.state)) return { action: 'cancel', job };
  if (job.state === 'running') {
    if (runningHere) return { action: 'stop', job };
    return { action: 'refuse', job, reason: `job ${job.id} is running, but not in this daemon` };
  }
  return { action: 'refuse', job, reason: `job ${job.id} already ended (${job.state})` };
}

/** The reason a cancelled job carries, and its failure events pass on to the pipeline. */
export function cancelReason(request: JobControlRequest): string {
  return `cancelled by ${request.requestedBy ?? '(unknown)'}`;
}

/** The reason an operator's cancel aborts a running job's signal with. */
export class JobCancelledError extends RelengdError {
  constructor(reason: string) {
    super(reason);
  }
}

/** Accepted requests not applied yet, oldest first. */
export async function pendingControlRequests(store: StoreApi): Promise<Array<{ key: string; request: JobControlRequest }>> {
  return (await store.state.list(JOB_CONTROL))
    .map(({ key, value }) => ({ key, request: value as JobControlRequest }))
    .sort((a, b) => a.request.at.localeCompare(b.request.at) || a.key.localeCompare(b.key));
}

/**
 * The key a job's result event is emitted under on this run: the executor's key on the first run,
 * marked with the retry after an operator's retry, so a retry's result is an event of its own
 * (while a crashed attempt re-run within the same run re-derives the same ids).
 */
export function runKey(job: Pick<JobRow, 'retries'>, key: string): string {
  return job.retries === 0 ? key : `${key}:retry-${job.retries}`;
}

/** The event saying what came of a request: `relengd.job.retried`, `relengd.job.cancelled` or `relengd.job.control.refused`. */
export function controlOutcome(
  request: JobControlRequest,
  outcome: { retried: JobRow } | { cancelled: JobRow; was: JobCancelled['was'] } | { refused: JobRow | undefined; reason: string },
): JobEmit {
  const base = { jobId: request.jobId, requestedBy: request.requestedBy, commandId: request.commandId };
  if ('retried' in outcome) {
    const data: JobRetried = { ...base, kind: outcome.retried.kind, retries: outcome.retried.retries + 1 };
    return { topic: 'relengd.job.retried', key: 'outcome', subject: request.jobId, data };
  }
  if ('cancelled' in outcome) {
    const data: JobCancelled = { ...base, kind: outcome.cancelled.kind, was: outcome.was };
    return { topic: 'relengd.job.cancelled', key: 'outcome', subject: request.jobId, data };
  }
  const data: JobControlRefused = { ...base, kind: outcome.refused?.kind ?? null, action: request.action, reason: outcome.reason };
  return { topic: 'relengd.job.control.refused', key: 'outcome', subject: request.jobId, data };
}
