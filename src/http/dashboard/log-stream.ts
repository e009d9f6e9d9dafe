/**
 * A job's log as server-sent events (`GET /jobs/<id>/log`): what the log holds, then what the job
 * appends while it is queued or running, then an `end` event with its final state. Each message
 * carries the byte offset it reached as its id, so a browser that reconnects (EventSource does by
 * itself) resumes where it was (`Last-Event-ID`) instead of starting over.
 *
 * Job logs are files (`<jobs.workdir>/<job id>/job.log`) that commands write directly (src/jobs/
 * process.ts): they are followed by reading the file from the last offset, with the job's state read
 * first, so that once the state says ended, reading to the end gets everything.
 */
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { sleep } from '../../retry.ts';
import { isLive } from './job-state.ts';
import type { JobView } from './reads.ts';

export interface LogStreamOptions {
  /** The job as the store has it now; undefined once it is gone (pruned). */
  job: () => Promise<JobView | undefined>;
  /** Ends the stream (the client left, the server is closing). */
  signal: AbortSignal;
  /** How often the state and the file are read again. @default 250 */
  pollMs?: number | undefined;
}

/** Bytes read at once; a longer line is sent in pieces. */
const CHUNK = 64 * 1024;
/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

export async function streamJobLog(req: IncomingMessage, res: ServerResponse, o: LogStreamOptions): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'x-content-type-options': 'nosniff' });
  res.write('retry: 2000\n\n');
  let offset = resumeOffset(req.headers['last-event-id']);
  let quietSince = Date.now();
  while (!o.signal.aborted) {
    const job = await o.job();
    if (!job) {
      res.write('event: end\ndata: gone\n\n');
      break;
    }
    const live = isLive(job.state);
    const sent = job.logPath ? await sendNewLines(res, job.logPath, offset, !live, o.signal) : offset;
    if (sent !== offset) quietSince = Date.now();
    offset = sent;
    if (!live) {
      res.write(`event: end\ndata: ${job.state}\n\n`);
      break;
    }
    if (Date.now() - quietSince > KEEPALIVE_MS) {
      res.write(': keep-alive\n\n');
      quietSince = Date.now();
    }
    await sleep(o.pollMs ?? 250, o.signal);
  }
  res.end();
}

/** `Last-Event-ID` as an offset; anything but a plain byte count starts from the beginning. */
function resumeOffset(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : 0;
}

/**
 * Sends the file's complete lines from `offset` on (everything, when `toEnd`: the job has ended);
 * @returns the offset reached.
 */
async function sendNewLines(res: ServerResponse, path: string, offset: number, toEnd: boolean, signal: AbortSignal): Promise<number> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return offset; // not written yet
    throw error;
  }
  try {
    const buffer = Buffer.alloc(CHUNK);
    while (!signal.aborted) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK, offset);
      if (bytesRead === 0) break;
      // Whole lines only while the job runs: never half a line, nor half a UTF-8 character.
      const lastNewline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
      const take = toEnd || (bytesRead === CHUNK && lastNewline < 0) ? bytesRead : lastNewline + 1;
      if (take === 0) break;
      offset += take;
      if (!res.write(logMessage(buffer.subarray(0, take).toString('utf8'), offset))) await drained(res, signal);
      if (take < bytesRead || bytesRead < CHUNK) break;
    }
    return offset;
  } finally {
    await file.close();
  }
}

/** Resolves when the client has taken what was written, or the stream is ending. */
async function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  try {
    await once(res, 'drain', { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/**
 * One SSE message of log text. Every line becomes a `data:` line, split at CR as well as LF (the
 * SSE parser ends a line at either), so no text in a log can start a field of its own.
 */
export function logMessage(text: string, offset: number): string {
  const lines = text.replace(/(\r\n|\r|\n)$/, '').split(/\r\n|\r|\n/);
  return `id: ${offset}\n${lines.map((line) => `data: ${line}\n`).join('')}\n`;
}
