import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { PROMOTION, type Candidate } from '../pipeline/listeners/promoter.ts';
import type { Store } from './store.ts';

export interface RetentionOptions {
  /** Days an event is kept after it was received (`retention.events`). */
  eventsDays: number;
  /** Days a rejected message is kept (`retention.rejected`). */
  rejectedDays: number;
  /** Days a finished job's directory is kept after the job ended (`retention.jobDirectories`). */
  jobDirectoriesDays: number;
  /** A job's directory (`<jobs.workdir>/<job id>`, as the runner names it). */
  jobDirectoryOf: (jobId: string) => string;
  now: Date;
  /** Rows deleted per transaction: short write locks, so deliveries go on committing meanwhile. @default 500 */
  batchSize?: number | undefined;
  /** Stops between batches (the daemon stopping); what was pruned so far stays pruned. */
  signal?: AbortSignal | undefined;
}

export interface PruneReport {
  events: number;
  /** Outbox rows of sent events, deleted with their event. */
  outbox: number;
  /** Events past the retention kept because something still needs them. */
  eventsKept: number;
  rejected: number;
  jobDirectories: number;
}

/** Jobs that will still run: their events are needed (a requeued job reads its cause; replay compares outcomes). */
const UNFINISHED = `('queued', 'running', 'interrupted')`;
/** Jobs whose directory nothing reads again. An interrupted job is re-run, recovering from its directory. */
const FINISHED = `('succeeded', 'failed', 'cancelled')`;

const DAY_MS = 86_400_000;

/**
 * Deletes what the retention no longer keeps: events and rejected messages received before their
 * cutoff, and the directories of jobs that ended before theirs. Never deletes what is still needed:
 * events not yet dispatched, events whose outbox row is not yet sent, events that caused or share
 * the correlation id of a job that will still run, and events and job directories of the composes
 * an open release candidate needs. Job rows are kept (small, and `relengd jobs` shows history).
 *
 * Rows go in small transactions with a turn of the event loop between them. Store order (seq)
 * follows receipt time, so each walk stops at the first row received after the cutoff: a run reads
 * the old rows only, without an index on received_at (which would cost every inbound write).
 */
export async function pruneStore(store: Store, o: RetentionOptions): Promise<PruneReport> {
  const report: PruneReport = { events: 0, outbox: 0, eventsKept: 0, rejected: 0, jobDirectories: 0 };
  await pruneEvents(store, o, report);
  await pruneRejected(store, o, report);
  await pruneJobDirectories(store, o, report);
  return report;
}

interface OldRow {
  seq: number;
  received_at: string;
}

/**
 * Walks a table in seq order, one transaction per batch, handing `handle` the rows received before
 * `cutoff`, until the first row received at or after it.
 */
async function walkOldRows<R extends OldRow>(store: Store, o: RetentionOptions, cutoff: string, select: (afterSeq: number, limit: number) => R[], handle: (old: R[]) => void): Promise<void> {
  const batchSize = o.batchSize ?? 500;
  let afterSeq = 0;
  for (;;) {
    if (o.signal?.aborted) return;
    const more = store.transaction(() => {
      const rows = select(afterSeq, batchSize);
      const firstNew = rows.findIndex((r) => r.received_at >= cutoff);
      const old = firstNew === -1 ? rows : rows.slice(0, firstNew);
      handle(old);
      afterSeq = old.at(-1)?.seq ?? afterSeq;
      return firstNew === -1 && rows.length === batchSize;
    });
    if (!more) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function cutoffOf(o: RetentionOptions, days: number): string {
  return new Date(o.now.getTime() - days * DAY_MS).toISOString();
}

async function pruneEvents(store: Store, o: RetentionOptions, report: PruneReport): Promise<void> {
  const select = store.db.prepare(`SELECT e.seq, e.id, e.received_at, e.correlation_id, e.dispatch_state, o.event_id IS NOT NULL AS in_outbox, o.sent_at
    FROM events e LEFT JOIN outbox o ON o.event_id = e.id WHERE e.seq > ? ORDER BY e.seq LIMIT ?`);
  const deleteOutbox = store.db.prepare('DELETE FROM outbox WHERE event_id = ?');
  const deleteEvent = store.db.prepare('DELETE FROM events WHERE seq = ?');
  type Row = OldRow & { id: string; correlation_id: string; dispatch_state: string; in_outbox: number; sent_at: string | null };
  await walkOldRows(store, o, cutoffOf(o, o.eventsDays), (after, limit) => select.all(after, limit) as unknown as Row[], (old) => {
    if (old.length === 0) return;
    // Read in the batch's transaction: a job enqueued or a candidate opened a moment ago counts.
    const needed = neededEvents(store);
    for (const row of old) {
      const unsent = row.in_outbox === 1 && row.sent_at === null;
      if (row.dispatch_state === 'pending' || unsent || needed.ids.has(row.id) || needed.correlations.has(row.correlation_id)) {
        report.eventsKept++;
        continue;
      }
      if (row.in_outbox === 1) report.outbox += Number(deleteOutbox.run(row.id).changes);
      report.events += Number(deleteEvent.run(row.seq).changes);
    }
  });
}

/**
 * Events still needed: the causes of jobs that will still run, and every event of their chains
 * (correlation ids) and of the chains of the composes open release candidates need. The first
 * event of a chain has the correlation id as its id.
 */
function neededEvents(store: Store): { ids: Set<string>; correlations: Set<string> } {
  const jobs = store.db.prepare(`SELECT cause_event_id, correlation_id FROM jobs WHERE state IN ${UNFINISHED}`).all() as Array<{ cause_event_id: string; correlation_id: string }>;
  const correlations = new Set([...jobs.map((j) => j.correlation_id), ...candidateCorrelations(store, () => false)]);
  return { ids: new Set([...jobs.map((j) => j.cause_event_id), ...correlations]), correlations };
}

/**
 * Correlation ids of the compose jobs of open release candidates (open, or being promoted), and of
 * those for which `alsoKeep(updatedAt)` holds.
 */
function candidateCorrelations(store: Store, alsoKeep: (updatedAt: string) => boolean): Set<string> {
  const candidates = store.db.prepare('SELECT value, updated_at FROM state WHERE namespace = ?').all(PROMOTION) as Array<{ value: string; updated_at: string }>;
  // A compose id names the group's compose (shared by its arches), or Pungi's compose whose commit a pungi-commit job looked for;
  // candidates recorded before compose ids named it by its job id.
  const composeJob = store.db.prepare(`SELECT correlation_id FROM jobs WHERE id = ?
    OR (kind = 'compose' AND json_extract(spec, '$.composeId') = ? AND json_extract(spec, '$.stream') = ?)
    OR (kind = 'pungi-commit' AND json_extract(spec, '$.pungiComposeId') = ? AND json_extract(spec, '$.stream') = ?) LIMIT 1`);
  const out = new Set<string>();
  for (const row of candidates) {
    const candidate = parseCandidate(row.value);
    // Unreadable: nothing known to keep for it (and nothing is deleted because of it).
    if (!candidate) continue;
    if (candidate.phase !== 'open' && candidate.phase !== 'promoting' && !alsoKeep(row.updated_at)) continue;
    for (const compose of Object.values(candidate.composes ?? {})) {
      if (typeof compose?.composeId !== 'string') continue;
      const job = composeJob.get(compose.composeId, compose.composeId, String(compose.stream), compose.composeId, String(compose.stream)) as { correlation_id: string } | undefined;
      if (job) out.add(job.correlation_id);
    }
  }
  return out;
}

function parseCandidate(value: string): Candidate | undefined {
  try {
    return JSON.parse(value) as Candidate;
  } catch {
    return undefined;
  }
}

async function pruneRejected(store: Store, o: RetentionOptions, report: PruneReport): Promise<void> {
  const select = store.db.prepare('SELECT seq, received_at FROM rejected WHERE seq > ? ORDER BY seq LIMIT ?');
  const remove = store.db.prepare('DELETE FROM rejected WHERE seq = ?');
  await walkOldRows(store, o, cutoffOf(o, o.rejectedDays), (after, limit) => select.all(after, limit) as unknown as OldRow[], (old) => {
    for (const row of old) report.rejected += Number(remove.run(row.seq).changes);
  });
}

/**
 * Removes the directories of jobs that ended before the cutoff. Those of an open candidate's
 * composes (compose and artifact jobs share its correlation id) are kept, and so are those of a
 * candidate promoted or refused within the retention: its artifacts are synced from there.
 */
async function pruneJobDirectories(store: Store, o: RetentionOptions, report: PruneReport): Promise<void> {
  const cutoff = cutoffOf(o, o.jobDirectoriesDays);
  const kept = candidateCorrelations(store, (updatedAt) => updatedAt >= cutoff);
  const jobs = store.db.prepare(`SELECT id, correlation_id FROM jobs WHERE state IN ${FINISHED} AND finished_at < ?`).all(cutoff) as Array<{ id: string; correlation_id: string }>;
  for (const job of jobs) {
    if (o.signal?.aborted) return;
    if (kept.has(job.correlation_id)) continue;
    const dir = o.jobDirectoryOf(job.id);
    if (!existsSync(dir)) continue;
    // Not a shell: a directory removed by the file-system API, asynchronously (an image tree is large).
    await rm(dir, { recursive: true, force: true });
    report.jobDirectories++;
  }
}
