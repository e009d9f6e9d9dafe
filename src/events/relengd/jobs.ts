import { z } from 'zod';
import type { TopicSpec } from '../catalogue.ts';
import { SafeValue } from './safe-value.ts';

/**
 * Job control: operators asking for a job to run again or to stop (commands), and what came of it
 * (relengd's own facts, emitted by the job runner). Who asked is the command's authenticated
 * publisher, never a field of the body.
 */

const JobControlRequest = z.looseObject({
  /** The job's id as `relengd jobs` lists it. Only looked up in the store, never part of a command line. */
  jobId: SafeValue,
  comment: z.string().max(4096).optional(),
});

/** relengd.job.retry.requested: run a failed or cancelled job again. */
export const JobRetryRequested = JobControlRequest;
export type JobRetryRequested = z.infer<typeof JobRetryRequested>;

/** relengd.job.cancel.requested: a queued job is never started; a running one is stopped (SIGTERM, then SIGKILL of its process group). */
export const JobCancelRequested = JobControlRequest;
export type JobCancelRequested = z.infer<typeof JobCancelRequested>;

const JobControlOutcome = z.looseObject({
  jobId: z.string(),
  kind: z.string(),
  /** The identity that sent the command (`local:<user>`, a token's publisher). */
  requestedBy: z.string().nullable(),
  /** The id of the command event. */
  commandId: z.string(),
});

/** relengd.job.retried: the job is queued again; its executor reads back what its earlier attempts left. */
export const JobRetried = JobControlOutcome.extend({
  /** How many times the job has been retried, this one included. */
  retries: z.number().int().positive(),
});
export type JobRetried = z.infer<typeof JobRetried>;

/** relengd.job.cancelled: the job was stopped (`running`) or taken off the queue (`queued`); its failure events say so to the pipeline. */
export const JobCancelled = JobControlOutcome.extend({
  was: z.enum(['queued', 'running', 'interrupted']),
});
export type JobCancelled = z.infer<typeof JobCancelled>;

/** relengd.job.control.refused: a retry or cancel that could not be done, and why (unknown job, wrong state). */
export const JobControlRefused = JobControlOutcome.extend({
  kind: z.string().nullable(),
  action: z.enum(['retry', 'cancel']),
  reason: z.string(),
});
export type JobControlRefused = z.infer<typeof JobControlRefused>;

export const jobTopics = {
  'relengd.job.retry.requested': {
    schema: JobRetryRequested,
    summary: 'An operator asked to run a failed or cancelled job again.',
    origin: 'relengd',
  },
  'relengd.job.cancel.requested': {
    schema: JobCancelRequested,
    summary: 'An operator asked to cancel a queued or running job.',
    origin: 'relengd',
  },
  'relengd.job.retried': {
    schema: JobRetried,
    summary: 'A failed or cancelled job was queued again, with who asked.',
    origin: 'relengd',
  },
  'relengd.job.cancelled': {
    schema: JobCancelled,
    summary: 'A job was cancelled, with who asked; its failure events follow.',
    origin: 'relengd',
  },
  'relengd.job.control.refused': {
    schema: JobControlRefused,
    summary: 'A retry or cancel was refused (unknown job, or a job in a state that does not allow it).',
    origin: 'relengd',
  },
} as const satisfies Record<string, TopicSpec>;
