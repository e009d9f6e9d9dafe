import type { Envelope } from '../../events/envelope.ts';
import type { JobCancelRequested, JobRetryRequested } from '../../events/relengd/jobs.ts';
import { JOB_CONTROL, type JobControlRequest } from '../../store/jobs.ts';
import { nothing, type Decision, type Listener } from '../listener.ts';

/**
 * Operators' retry and cancel commands (already authorised at intake): each becomes a request in
 * listener state, with who asked, for the job runner to apply. The runner owns the jobs and their
 * processes; it decides (the job may have ended meanwhile) and says what came of it as an event.
 */
export const jobControl: Listener = {
  name: 'job-control',
  topics: ['relengd.job.retry.requested', 'relengd.job.cancel.requested'],
  handle(event: Envelope): Decision {
    const body = event.data as JobRetryRequested | JobCancelRequested;
    const request: JobControlRequest = {
      action: event.topic === 'relengd.job.retry.requested' ? 'retry' : 'cancel',
      jobId: body.jobId,
      requestedBy: event.publisher ?? null,
      commandId: event.id,
      correlationId: event.correlationid,
      at: event.time,
    };
    return { ...nothing(), patches: [{ namespace: JOB_CONTROL, key: event.id, value: request }] };
  },
};
