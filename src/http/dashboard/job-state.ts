import type { JobState } from '../../store/jobs.ts';

/** Queued or running: its log may still grow. Any other state has ended (until someone retries the job). */
export function isLive(state: JobState): boolean {
  return state === 'queued' || state === 'running';
}
