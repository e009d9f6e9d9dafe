import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { RelengdError } from '../errors.ts';
import { sleep } from '../retry.ts';
import type { JobsApi } from '../store/api.ts';
import type { JobRow } from '../store/jobs.ts';

/** States in which a job's run is over: nothing more is written to its log until someone retries it (or the daemon restarts an interrupted one). */
const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export interface JobLogOptions {
  /** Keep printing while the job is queued or running; return once it has ended and its log is printed to the end. */
  follow: boolean;
  out: NodeJS.WritableStream;
  /** How often the job's state and log are read again while following. @default 250 */
  pollMs?: number;
}

/**
 * Prints a job's log (`<jobs.workdir>/<job id>/job.log`, every attempt) to `out`. Reads the store
 * and the file only: no daemon needed.
 * @returns the job as it was when printing stopped.
 * @throws RelengdError when the store has no such job, or (without `follow`) the job has no log yet.
 */
export async function printJobLog(jobs: JobsApi, id: string, options: JobLogOptions): Promise<JobRow> {
  const read = async (): Promise<JobRow> => {
    const job = await jobs.get(id);
    if (!job) throw new RelengdError(`no job ${id} (\`relengd jobs\` lists them)`);
    return job;
  };
  let job = await read();
  if (!options.follow) {
    if (!job.logPath || !existsSync(job.logPath)) throw new RelengdError(`job ${id} has no log: it never started (${job.state})`);
    await copyFrom(job.logPath, 0, options.out);
    return job;
  }
  let offset = 0;
  for (;;) {
    // The state first: when it says ended, the log is complete, and reading it to its end gets all of it.
    job = await read();
    if (job.logPath && existsSync(job.logPath)) offset = await copyFrom(job.logPath, offset, options.out);
    if (ENDED.has(job.state)) return job;
    await sleep(options.pollMs ?? 250);
  }
}

const CHUNK = 64 * 1024;

/** Writes the file from `offset` to its current end; @returns the offset reached. */
async function copyFrom(path: string, offset: number, out: NodeJS.WritableStream): Promise<number> {
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const buffer = Buffer.alloc(CHUNK);
      const n = readSync(fd, buffer, 0, CHUNK, offset);
      if (n === 0) return offset;
      offset += n;
      if (!out.write(buffer.subarray(0, n))) await new Promise((resolve) => out.once('drain', resolve));
    }
  } finally {
    closeSync(fd);
  }
}
