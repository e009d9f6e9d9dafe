/**
 * The dashboard's routes: read-only pages, open like /healthz (the server has already refused a
 * request whose credentials authenticate no one), and a job's log as server-sent events. Actions
 * are not routes here: the pages' forms post commands to `POST /events` (see actions.ts), and the
 * replay page posts to the daemon's `POST /replay` (src/http/replay-route.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Logger } from '../../log.ts';
import { candidatePage } from './candidate-page.ts';
import { chainPage } from './chain-page.ts';
import { jobPage, jobsPage } from './jobs-page.ts';
import { messagePage, sendPage, type Page } from './layout.ts';
import { streamJobLog } from './log-stream.ts';
import { CorrelationId, SafeName } from './params.ts';
import type { DashboardReads } from './reads.ts';
import { rejectedPage } from './rejected-page.ts';
import { replayPage, replayPrefill } from './replay-page.ts';
import { streamsPage } from './streams-page.ts';

/** Rows on the list pages: keeps each page small (tens of kilobytes) however long the history. */
const JOBS_SHOWN = 50;
const REJECTED_SHOWN = 30;

export interface Dashboard {
  /** Serves a GET of a dashboard path; false when the path is not the dashboard's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** Ends the open log streams, so the server can close. */
  close(): void;
}

export function createDashboard(reads: DashboardReads, logger: Logger, options: { logPollMs?: number } = {}): Dashboard {
  const streams = new Set<AbortController>();
  const log = logger.child({ component: 'dashboard' });

  const route = async (req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<Page | 'streamed' | null> => {
    const [first, ...rest] = segments;
    if (first === undefined) return streamsPage(await reads.streams(), await reads.candidates(), reads.commands(), await reads.releases());
    if (first === 'candidates' && rest.length === 2) {
      const [group, version] = [parse(SafeName, rest[0]!), parse(SafeName, rest[1]!)];
      const candidate = await reads.candidate(group, version);
      return candidate ? candidatePage(candidate, reads.commands()) : messagePage(404, 'No such candidate', `relengd has seen no compose of ${group} at version ${version}.`);
    }
    if (first === 'jobs' && rest.length === 0) return jobsPage(await reads.jobs(JOBS_SHOWN), JOBS_SHOWN);
    if (first === 'jobs' && (rest.length === 1 || (rest.length === 2 && rest[1] === 'log'))) {
      const id = parse(SafeName, rest[0]!);
      const job = await reads.job(id);
      if (!job) return messagePage(404, 'No such job', `relengd has no job ${id}.`);
      if (rest.length === 1) return jobPage(job, reads.commands());
      await followLog(req, res, id);
      return 'streamed';
    }
    if (first === 'chains' && rest.length === 1) return chainPage(await reads.chain(parse(CorrelationId, rest[0]!)));
    if (first === 'rejected' && rest.length === 0) {
      const { rejections, failedEvents } = await reads.rejected(REJECTED_SHOWN);
      return rejectedPage(await reads.health(), rejections, failedEvents, REJECTED_SHOWN);
    }
    if (first === 'replay' && rest.length === 0) return replayPage(replayPrefill(req.url), reads.commands());
    return null;
  };

  const followLog = async (req: IncomingMessage, res: ServerResponse, id: string): Promise<void> => {
    const stop = new AbortController();
    streams.add(stop);
    res.once('close', () => stop.abort());
    try {
      await streamJobLog(req, res, { job: () => reads.job(id), signal: stop.signal, pollMs: options.logPollMs });
    } finally {
      streams.delete(stop);
    }
  };

  return {
    async handle(req, res, path) {
      const segments = segmentsOf(path);
      if (segments === null) return send(res, messagePage(400, 'Bad path', 'The path is not valid percent-encoding.'));
      let page: Page | 'streamed' | null;
      try {
        page = await route(req, res, segments);
      } catch (error) {
        if (!(error instanceof BadParameter)) throw error;
        log.debug({ path, err: error }, 'bad dashboard path');
        return send(res, messagePage(400, 'Bad path', error.message));
      }
      if (page === null) return false;
      if (page !== 'streamed') sendPage(res, page);
      return true;
    },
    close() {
      for (const stop of streams) stop.abort();
    },
  };
}

function send(res: ServerResponse, page: Page): true {
  sendPage(res, page);
  return true;
}

/** The path's segments, decoded; null when one is not valid percent-encoding. `/` has none. */
function segmentsOf(path: string): string[] | null {
  try {
    return path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return null;
  }
}

class BadParameter extends Error {}

/** A path segment parsed with `schema`; a bad one is answered 400 with zod's message. */
function parse<T>(schema: z.ZodType<T>, value: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new BadParameter(`${JSON.stringify(value)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  return result.data;
}
