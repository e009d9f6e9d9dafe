import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { imageDigestOf } from '../events/relengd/artifact.ts';
import { PROMOTION, type Candidate } from './listeners/promoter.ts';
import { RELEASES, type ReleaseHistory } from './listeners/release-history.ts';
import { IMAGE_LISTS, SIGN_REQUESTS, SIGNATURES, type ImageListRecord } from './listeners/sign-state.ts';
import type { StoreApi } from '../store/api.ts';
import { retentionSqlOf, truthy, type RetentionSql } from '../store/retention-sql.ts';
import type { Store } from '../store/store.ts';

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
  /** The signing saga's records: per commit (or image digest), request id -> commit rows, and pushed image lists. */
  signatures: number;
  signRequests: number;
  imageLists: number;
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
 * The signing saga's records go with the events (see `pruneSigning`).
 *
 * Rows go in small transactions with a turn of the event loop between them. Store order (seq)
 * follows receipt time, so each walk stops at the first row received after the cutoff: a run reads
 * the old rows only, without an index on received_at (which would cost every inbound write).
 *
 * The same decisions on SQLite and PostgreSQL: the SQL runs through the backend's port
 * (./retention-sql.ts). On SQLite a batch holds the connection (a SqliteStore transaction: never
 * inside another loop's open one); a synchronous Store is wrapped so.
 */
export async function pruneStore(storeOrTables: StoreApi | Store, o: RetentionOptions): Promise<PruneReport> {
  const store = retentionSqlOf(storeOrTables);
  const report: PruneReport = { events: 0, outbox: 0, eventsKept: 0, rejected: 0, jobDirectories: 0, signatures: 0, signRequests: 0, imageLists: 0 };
  await pruneEvents(store, o, report);
  await pruneRejected(store, o, report);
  await pruneJobDirectories(store, o, report);
  await pruneSigning(store, o, report);
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
async function walkOldRows<R extends OldRow>(store: RetentionSql, o: RetentionOptions & { decides: boolean }, cutoff: string, select: (afterSeq: number, limit: number) => Promise<R[]>, handle: (old: R[]) => Promise<void>): Promise<void> {
  const batchSize = o.batchSize ?? 500;
  let afterSeq = 0;
  for (;;) {
    if (o.signal?.aborted) return;
    const more = await store.batch(async () => {
      const rows = await select(afterSeq, batchSize);
      const firstNew = rows.findIndex((r) => r.received_at >= cutoff);
      const old = firstNew === -1 ? rows : rows.slice(0, firstNew);
      await handle(old);
      afterSeq = old.at(-1)?.seq ?? afterSeq;
      return firstNew === -1 && rows.length === batchSize;
    }, { decides: o.decides });
    if (!more) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function cutoffOf(o: RetentionOptions, days: number): string {
  return new Date(o.now.getTime() - days * DAY_MS).toISOString();
}

async function pruneEvents(store: RetentionSql, o: RetentionOptions, report: PruneReport): Promise<void> {
  const select = `SELECT e.seq, e.id, e.received_at, e.correlation_id, e.dispatch_state, o.event_id IS NOT NULL AS in_outbox, o.sent_at
    FROM events e LEFT JOIN outbox o ON o.event_id = e.id WHERE e.seq > ? ORDER BY e.seq LIMIT ?`;
  type Row = OldRow & { id: string; correlation_id: string; dispatch_state: string; in_outbox: unknown; sent_at: string | null };
  await walkOldRows(store, { ...o, decides: true }, cutoffOf(o, o.eventsDays), (after, limit) => store.all<Row>(select, [after, limit]), async (old) => {
    if (old.length === 0) return;
    // Read in the batch's transaction: a job enqueued or a candidate opened a moment ago counts.
    const needed = await neededEvents(store);
    for (const row of old) {
      const inOutbox = truthy(row.in_outbox);
      const unsent = inOutbox && row.sent_at === null;
      if (row.dispatch_state === 'pending' || unsent || needed.ids.has(row.id) || needed.correlations.has(row.correlation_id)) {
        report.eventsKept++;
        continue;
      }
      if (inOutbox) report.outbox += await store.run('DELETE FROM outbox WHERE event_id = ?', [row.id]);
      // A replay may have reset it to pending since it was read: then it stays.
      report.events += await store.run("DELETE FROM events WHERE seq = ? AND dispatch_state <> 'pending'", [row.seq]);
    }
  });
}

/**
 * Events still needed: the causes of jobs that will still run, and every event of their chains
 * (correlation ids) and of the chains of the composes open release candidates need. The first
 * event of a chain has the correlation id as its id.
 */
async function neededEvents(store: RetentionSql): Promise<{ ids: Set<string>; correlations: Set<string> }> {
  const jobs = await store.all<{ cause_event_id: string; correlation_id: string }>(`SELECT cause_event_id, correlation_id FROM jobs WHERE state IN ${UNFINISHED}`);
  const correlations = new Set([...jobs.map((j) => j.correlation_id), ...(await candidateCorrelations(store, () => false))]);
  return { ids: new Set([...jobs.map((j) => j.cause_event_id), ...correlations]), correlations };
}

/**
 * Correlation ids of the compose jobs of open release candidates (open, or being promoted), and of
 * those for which `alsoKeep(updatedAt)` holds.
 */
async function candidateCorrelations(store: RetentionSql, alsoKeep: (updatedAt: string) => boolean): Promise<Set<string>> {
  const candidates = await store.all<{ value: string; updated_at: string }>('SELECT value, updated_at FROM state WHERE namespace = ?', [PROMOTION]);
  // A compose id names the group's compose (shared by its arches), or Pungi's compose whose commit a pungi-commit job looked for;
  // candidates recorded before compose ids named it by its job id.
  const spec = (field: string) => store.jsonField('spec', field);
  const composeJob = `SELECT correlation_id FROM jobs WHERE id = ?
    OR (kind = 'compose' AND ${spec('composeId')} = ? AND ${spec('stream')} = ?)
    OR (kind = 'pungi-commit' AND ${spec('pungiComposeId')} = ? AND ${spec('stream')} = ?) LIMIT 1`;
  const out = new Set<string>();
  for (const row of candidates) {
    const candidate = parseCandidate(row.value);
    // Unreadable: nothing known to keep for it (and nothing is deleted because of it).
    if (!candidate) continue;
    if (candidate.phase !== 'open' && candidate.phase !== 'promoting' && !alsoKeep(row.updated_at)) continue;
    for (const compose of Object.values(candidate.composes ?? {})) {
      if (typeof compose?.composeId !== 'string') continue;
      const [job] = await store.all<{ correlation_id: string }>(composeJob, [compose.composeId, compose.composeId, String(compose.stream), compose.composeId, String(compose.stream)]);
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

async function pruneRejected(store: RetentionSql, o: RetentionOptions, report: PruneReport): Promise<void> {
  await walkOldRows(store, { ...o, decides: false }, cutoffOf(o, o.rejectedDays), (after, limit) => store.all<OldRow>('SELECT seq, received_at FROM rejected WHERE seq > ? ORDER BY seq LIMIT ?', [after, limit]), async (old) => {
    for (const row of old) report.rejected += await store.run('DELETE FROM rejected WHERE seq = ?', [row.seq]);
  });
}

/**
 * Removes the directories of jobs that ended before the cutoff. Those of an open candidate's
 * composes (compose and artifact jobs share its correlation id) are kept, and so are those of a
 * candidate promoted or refused within the retention: its artifacts are synced from there.
 */
async function pruneJobDirectories(store: RetentionSql, o: RetentionOptions, report: PruneReport): Promise<void> {
  const cutoff = cutoffOf(o, o.jobDirectoriesDays);
  const { kept, jobs } = await store.batch(async () => ({
    kept: await candidateCorrelations(store, (updatedAt) => updatedAt >= cutoff),
    jobs: await store.all<{ id: string; correlation_id: string }>(`SELECT id, correlation_id FROM jobs WHERE state IN ${FINISHED} AND finished_at < ?`, [cutoff]),
  }));
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


/**
 * Removes the signing saga's state that nothing needs any more, with the events (`retention.events`):
 * a commit's (or image digest's) signing record last changed before the cutoff, unless the commit
 * belongs to a candidate still open or being promoted, or promoted or refused within the retention
 * (as the job directories of its composes are kept), is on a release ref now or in the release
 * history a rollback can go back to, or is being asked for (a wait or a check in flight); the
 * request id -> commit rows of records no longer kept; and the pushed image lists of versions
 * neither kept so nor changed within the retention. A verified signature of a commit a release ref
 * points at is never pruned.
 */
async function pruneSigning(store: RetentionSql, o: RetentionOptions, report: PruneReport): Promise<void> {
  const cutoff = cutoffOf(o, o.eventsDays);
  const batchSize = o.batchSize ?? 500;
  const oldRows = `SELECT key, value, updated_at FROM state WHERE namespace = ? AND updated_at < ? AND key > ? ORDER BY key LIMIT ?`;
  // Deleted only as read: a row a listener changed meanwhile is not old any more.
  const remove = 'DELETE FROM state WHERE namespace = ? AND key = ? AND updated_at = ?';
  // A wait or a check still to run needs its commit's record; a watch does not (it ends when the record is gone).
  const signWaits = `SELECT 1 AS found FROM jobs WHERE state IN ${UNFINISHED} AND kind IN ('sign-wait', 'sign-verify') AND queue_key IN (?, ?) LIMIT 1`;
  type Row = { key: string; value: string; updated_at: string };
  const waitedFor = async (key: string) => (await store.all(signWaits, [`sign-wait:${key}`, `sign-verify:${key}`])).length > 0;
  for (const [namespace, counted] of [[IMAGE_LISTS, 'imageLists'], [SIGNATURES, 'signatures']] as const) {
    let after = '';
    for (;;) {
      if (o.signal?.aborted) return;
      const more = await store.batch(async () => {
        const rows = await store.all<Row>(oldRows, [namespace, cutoff, after, batchSize]);
        if (rows.length === 0) return false;
        // Read in the batch's transaction: a candidate opened or a promotion made a moment ago counts.
        const kept = keptSigning(await stateRows(store, [PROMOTION, RELEASES, IMAGE_LISTS]), cutoff);
        for (const row of rows) {
          const keep =
            namespace === IMAGE_LISTS
              ? kept.versions.has(row.key.slice(0, row.key.lastIndexOf('/')))
              : kept.commits.has(row.key) || parseJson<{ state?: string }>(row.value)?.state === 'requested' || (await waitedFor(row.key));
          if (!keep) report[counted] += await store.run(remove, [namespace, row.key, row.updated_at]);
        }
        after = rows.at(-1)!.key;
        return rows.length === batchSize;
      }, { decides: true });
      if (!more) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  // The request ids of records no longer kept: a late reply to one finds nothing, as it would for a request never made.
  const orphans = `SELECT key FROM state WHERE namespace = ? AND ${store.jsonText('value')} NOT IN (SELECT key FROM state WHERE namespace = ?) LIMIT ?`;
  for (;;) {
    if (o.signal?.aborted) return;
    const more = await store.batch(async () => {
      const rows = await store.all<{ key: string }>(orphans, [SIGN_REQUESTS, SIGNATURES, batchSize]);
      for (const row of rows) report.signRequests += await store.run('DELETE FROM state WHERE namespace = ? AND key = ?', [SIGN_REQUESTS, row.key]);
      return rows.length === batchSize;
    }, { decides: true });
    if (!more) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * What signing state is kept: the commits and image digests (hex) of candidates open, being promoted,
 * or changed within the retention, of every group's release refs and the promotions its history
 * keeps, and of the image lists of those versions; and those versions (`group/version`).
 */
type StateRow = { key: string; value: string; updated_at: string };

/** The rows of each namespace, read in the batch's transaction. */
async function stateRows(store: RetentionSql, namespaces: readonly string[]): Promise<Map<string, StateRow[]>> {
  const out = new Map<string, StateRow[]>();
  for (const namespace of namespaces) out.set(namespace, await store.all<StateRow>('SELECT key, value, updated_at FROM state WHERE namespace = ?', [namespace]));
  return out;
}

function keptSigning(state: ReadonlyMap<string, readonly StateRow[]>, cutoff: string): { commits: Set<string>; versions: Set<string> } {
  const commits = new Set<string>();
  const versions = new Set<string>();
  const hexOf = (digest: string | null | undefined) => (typeof digest === 'string' && digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : null);
  const addDigest = (digest: string | null | undefined) => {
    const hex = hexOf(digest);
    if (hex) commits.add(hex);
  };
  const rowsOf = (namespace: string) => state.get(namespace) ?? [];
  for (const row of rowsOf(PROMOTION)) {
    const candidate = parseCandidate(row.value);
    if (!candidate) continue;
    if (candidate.phase !== 'open' && candidate.phase !== 'promoting' && row.updated_at < cutoff) continue;
    versions.add(`${candidate.group}/${candidate.version}`);
    for (const compose of Object.values(candidate.composes ?? {})) {
      if (typeof compose?.commit === 'string') commits.add(compose.commit);
      for (const artifact of compose?.artifacts ?? []) addDigest(imageDigestOf(artifact));
    }
    for (const commit of candidate.releaseSigning?.commits ?? []) commits.add(commit);
  }
  for (const row of rowsOf(RELEASES)) {
    const history = parseJson<ReleaseHistory>(row.value);
    if (!history) continue;
    // What the release refs point at, and what a rollback can move them back to.
    for (const release of [...(history.current ? [history.current] : []), ...(history.promotions ?? [])]) {
      versions.add(`${history.group}/${release.version}`);
      for (const ref of release.refs ?? []) commits.add(ref.commit);
    }
    for (const promotion of history.promotions ?? []) for (const artifact of promotion.artifacts ?? []) addDigest(imageDigestOf(artifact));
    // A rollback waiting for its commits' signatures.
    for (const commit of history.rollingBack?.signing?.commits ?? []) commits.add(commit);
  }
  for (const row of rowsOf(IMAGE_LISTS)) {
    if (!versions.has(row.key.slice(0, row.key.lastIndexOf('/'))) && row.updated_at < cutoff) continue;
    const list = parseJson<ImageListRecord>(row.value);
    addDigest(list?.digest);
    for (const manifest of list?.manifests ?? []) addDigest(manifest.digest);
  }
  return { commits, versions };
}

function parseJson<T>(value: string): T | undefined {
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}
