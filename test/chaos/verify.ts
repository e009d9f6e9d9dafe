/**
 * What the chaos run left behind, read from outside as an operator would: the store read-only (the
 * SQLite file with node:sqlite, or the PostgreSQL database with `pg` in read-only transactions) and
 * the OSTree repo with the `ostree` CLI (argv, no shell). Nothing here trusts relengd's own account
 * where the repo can say it independently.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';

/** Where the run's store is. */
export type StoreTarget = { backend: 'sqlite'; path: string } | { backend: 'postgres'; url: string };

/**
 * Read-only queries on either store, written once: `?` placeholders (numbered for PostgreSQL), and
 * `json(column, key)` for a top-level key of a JSON text column (json_extract / ->>, as text).
 */
export interface StoreReader {
  all<T>(sql: string, ...params: Array<string | number>): Promise<T[]>;
  /** The `n` column of a one-row query, as a number (PostgreSQL's count is a bigint string). */
  one(sql: string, ...params: Array<string | number>): Promise<number>;
  json(column: string, key: string): string;
  close(): Promise<void>;
}

export async function openReader(target: StoreTarget): Promise<StoreReader> {
  if (target.backend === 'sqlite') {
    const db = new DatabaseSync(target.path, { readOnly: true });
    const all = <T>(sql: string, ...params: Array<string | number>): Promise<T[]> => Promise.resolve(db.prepare(sql).all(...params) as T[]);
    return {
      all,
      one: async (sql, ...params) => Number((await all<{ n: number }>(sql, ...params))[0]!.n),
      json: (column, key) => `json_extract(${column}, '$.${key}')`,
      close: () => Promise.resolve(db.close()),
    };
  }
  // Every transaction of this session read-only: the checks cannot write to relengd's store.
  const client = new pg.Client({ connectionString: target.url, application_name: 'relengd-chaos-check', options: '-c default_transaction_read_only=on' });
  client.on('error', () => undefined);
  await client.connect();
  const all = async <T>(sql: string, ...params: Array<string | number>): Promise<T[]> => {
    let n = 0;
    return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
  };
  return {
    all,
    one: async (sql, ...params) => Number((await all<{ n: string | number }>(sql, ...params))[0]!.n),
    json: (column, key) => `(${column}::jsonb ->> '${key}')`,
    close: () => client.end(),
  };
}

/** Opens a reader, runs `fn`, closes it. */
export async function withReader<T>(target: StoreTarget, fn: (reader: StoreReader) => Promise<T>): Promise<T> {
  const reader = await openReader(target);
  try {
    return await fn(reader);
  } finally {
    await reader.close().catch(() => undefined);
  }
}

export interface StreamRefs {
  stream: string;
  ref: string;
  releaseRef: string;
}

/** A ref's history as `ostree log` walks it (newest first). */
export interface RefChain {
  ref: string;
  head: string | null;
  commits: Array<{ commit: string; version: string | null }>;
}

export function ostree(repo: string, ...args: string[]): string {
  return execFileSync('ostree', [`--repo=${repo}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function refChain(repo: string, ref: string): RefChain {
  let head: string | null;
  try {
    head = ostree(repo, 'rev-parse', ref).trim();
  } catch {
    return { ref, head: null, commits: [] };
  }
  const commits: RefChain['commits'] = [];
  for (const block of ostree(repo, 'log', ref).split(/^commit /m).slice(1)) {
    const commit = block.slice(0, 64);
    const version = /^Version: (.*)$/m.exec(block)?.[1]?.trim() ?? null;
    commits.push({ commit, version });
  }
  return { ref, head, commits };
}

/** Every commit object in an archive repo, referenced or not. */
export function commitObjects(repo: string): Set<string> {
  const found = new Set<string>();
  const objects = join(repo, 'objects');
  if (!existsSync(objects)) return found;
  for (const dir of readdirSync(objects)) {
    for (const file of readdirSync(join(objects, dir))) if (file.endsWith('.commit')) found.add(dir + file.slice(0, -'.commit'.length));
  }
  return found;
}

interface JobRow {
  id: string;
  kind: string;
  state: string;
  attempts: number;
  spec: string;
  result: string | null;
  error: string | null;
}

interface EventRow {
  id: string;
  topic: string;
  data: string;
  dispatch_state: string;
}

export interface PublishedMessage {
  seq: number;
  kind: string;
}

export interface Inspection {
  messages: { published: number; stored: number; storedTwice: number; missing: string[]; unexpected: number; rejected: number; rejectedOfOurs: string[]; failed: number; failedDetail: string[]; pending: number };
  jobs: { byKind: Record<string, { run: number; succeeded: number; failed: number; other: number; reruns: number; attemptsOverOne: number }>; queuedOrRunning: number; rerunDetail: string[] };
  composes: { requested: number; jobsWithCommit: number; noChange: number; failed: number; announced: number };
  promotions: { decisions: number; promotedEvents: number; refused: number; promoteJobsSucceeded: number };
  refs: Array<{ ref: string; kind: 'updates' | 'release'; commits: number; expected: number; head: string | null }>;
  commitObjects: { total: number; onRefs: number; orphans: number };
  outbound: { sent: number; pending: number; missingOnBus: string[] };
  doubleEffects: string[];
  mismatches: string[];
}

export function inspect(options: {
  store: StoreTarget;
  repo: string;
  streams: readonly StreamRefs[];
  published: ReadonlyMap<string, PublishedMessage>;
  /** message ids of relengd's events a queue bound to `<prefix>.relengd.#` received. */
  seenOnBus: ReadonlySet<string> | null;
}): Promise<Inspection> {
  return withReader(options.store, async (db) => {
    const { all, one } = db;

    // Messages: stored once each, none missing.
    const inbound = (await all<{ id: string; seq: number | string | null }>(`SELECT id, ${db.json('data', 'chaos_seq')} AS seq FROM events WHERE origin = 'inbound'`)).map((r) => ({ id: r.id, seq: r.seq === null ? null : Number(r.seq) }));
    const storedIds = new Set(inbound.map((r) => r.id));
    const stored = [...options.published.keys()].filter((id) => storedIds.has(id)).length;
    const missing = [...options.published.keys()].filter((id) => !storedIds.has(id));
    const seqCount = new Map<number, number>();
    for (const r of inbound) if (r.seq !== null) seqCount.set(r.seq, (seqCount.get(r.seq) ?? 0) + 1);
    const storedTwice = [...seqCount.values()].reduce((sum, n) => sum + (n > 1 ? n - 1 : 0), 0) + (inbound.length - storedIds.size);
    const unexpected = inbound.filter((r) => !options.published.has(r.id)).length;
    const rejectedRows = await all<{ message_id: string | null; reason: string; detail: string }>(`SELECT message_id, reason, detail FROM rejected`);
    const rejectedOfOurs = rejectedRows.filter((r) => r.message_id !== null && options.published.has(r.message_id)).map((r) => `${r.message_id}: ${r.reason} (${r.detail.slice(0, 160)})`);
    const failedRows = await all<{ id: string; topic: string; dispatch_error: string | null }>(`SELECT id, topic, dispatch_error FROM events WHERE dispatch_state = 'failed'`);

    // Jobs: run, succeeded, re-run after a kill (attempts > 1).
    const jobs = await all<JobRow>(`SELECT id, kind, state, attempts, spec, result, error FROM jobs`);
    const byKind: Inspection['jobs']['byKind'] = {};
    const rerunDetail: string[] = [];
    for (const j of jobs) {
      const k = (byKind[j.kind] ??= { run: 0, succeeded: 0, failed: 0, other: 0, reruns: 0, attemptsOverOne: 0 });
      k.run++;
      if (j.state === 'succeeded') k.succeeded++;
      else if (j.state === 'failed') k.failed++;
      else k.other++;
      if (j.attempts > 1) {
        k.reruns++;
        k.attemptsOverOne += j.attempts - 1;
        rerunDetail.push(`${j.kind} ${j.id} ${j.state} after ${j.attempts} attempts${j.error ? `: ${j.error.slice(0, 160)}` : ''}`);
      }
    }
    const queuedOrRunning = jobs.filter((j) => j.state === 'queued' || j.state === 'running' || j.state === 'interrupted').length;

    const events = async (topic: string) => (await all<EventRow>(`SELECT id, topic, data, dispatch_state FROM events WHERE topic = ? ORDER BY seq`, topic)).map((e) => ({ ...e, body: JSON.parse(e.data) as Record<string, unknown> }));
    const finished = await events('relengd.ostree.compose.finished');
    const promoted = await events('relengd.release.promoted');
    const doubleEffects: string[] = [];
    const mismatches: string[] = [];

    // Composes: each job's recorded commit is the one announced, and the one in the repo.
    const composeJobs = jobs.filter((j) => j.kind === 'compose');
    const announcedByCompose = new Map<string, string | null>();
    // A compose id names the group's compose, shared by its arches: one arch's compose is the id and the stream.
    for (const f of finished) {
      const composeId = `${String(f.body.composeId)}/${String(f.body.stream)}`;
      if (announcedByCompose.has(composeId)) doubleEffects.push(`compose ${composeId} announced twice (events ${f.id} and another)`);
      announcedByCompose.set(composeId, (f.body.commit as string | null) ?? null);
    }
    const jobCommit = (j: JobRow): string | null => (j.result ? ((JSON.parse(j.result) as { commit?: string | null }).commit ?? null) : null);
    for (const j of composeJobs.filter((x) => x.state === 'succeeded')) {
      const spec = JSON.parse(j.spec) as { composeId: string; stream: string };
      const composeId = `${spec.composeId}/${spec.stream}`;
      if (!announcedByCompose.has(composeId)) mismatches.push(`compose job ${j.id} succeeded but no ostree.compose.finished for compose ${composeId}`);
      else if (announcedByCompose.get(composeId) !== jobCommit(j)) doubleEffects.push(`compose job ${j.id} recorded ${jobCommit(j)} but ${announcedByCompose.get(composeId)} was announced`);
    }

    const refs: Inspection['refs'] = [];
    const onRefs = new Set<string>();
    for (const s of options.streams) {
      // The stream's ref: one commit per compose that announced one, no commit twice for one version.
      const chain = refChain(options.repo, s.ref);
      chain.commits.forEach((c) => onRefs.add(c.commit));
      const announced = finished.filter((f) => f.body.ref === s.ref && f.body.commit).map((f) => String(f.body.commit));
      const jobsWithCommit = composeJobs.filter((j) => j.state === 'succeeded' && (JSON.parse(j.spec) as { ref: string }).ref === s.ref && jobCommit(j) !== null);
      refs.push({ ref: s.ref, kind: 'updates', commits: chain.commits.length, expected: new Set(announced).size, head: chain.head });
      if (chain.commits.length > jobsWithCommit.length) doubleEffects.push(`${s.ref}: ${chain.commits.length} commits in the repo for ${jobsWithCommit.length} successful composes that made one`);
      const chainSet = new Set(chain.commits.map((c) => c.commit));
      for (const c of chain.commits) if (!announced.includes(c.commit)) doubleEffects.push(`${s.ref}: commit ${c.commit} (version ${c.version}) is on the ref but no compose announced it`);
      for (const a of new Set(announced)) if (!chainSet.has(a)) mismatches.push(`${s.ref}: announced commit ${a} is not in the ref's history`);
      for (const j of jobsWithCommit) if (!chainSet.has(jobCommit(j)!)) doubleEffects.push(`${s.ref}: compose job ${j.id} recorded ${jobCommit(j)}, which is not the commit in the repo`);
      for (const [version, n] of countBy(chain.commits.map((c) => c.version ?? '?'))) if (n > 1) doubleEffects.push(`${s.ref}: ${n} commits of version ${version} (one compose committed more than once)`);
      const last = announced.at(-1) ?? null;
      if (chain.head !== last) mismatches.push(`${s.ref}: head ${chain.head} but the last announced commit is ${last}`);

      // The release ref: one promotion commit per promotion that moved it, none twice for one version.
      const rel = refChain(options.repo, s.releaseRef);
      rel.commits.forEach((c) => onRefs.add(c.commit));
      const moves = promoted.flatMap((p) => (p.body.refs as Array<{ ref: string; to: string }>).filter((r) => r.ref === s.releaseRef).map((r) => r.to));
      const distinctTo = [...new Set(moves)];
      refs.push({ ref: s.releaseRef, kind: 'release', commits: rel.commits.length, expected: distinctTo.length, head: rel.head });
      if (rel.commits.length > distinctTo.length) doubleEffects.push(`${s.releaseRef}: ${rel.commits.length} commits for ${distinctTo.length} promotions`);
      for (const [version, n] of countBy(rel.commits.map((c) => c.version ?? '?'))) if (n > 1) doubleEffects.push(`${s.releaseRef}: version ${version} promoted ${n} times`);
      if (rel.head !== (moves.at(-1) ?? null)) mismatches.push(`${s.releaseRef}: head ${rel.head} but the last release.promoted says ${moves.at(-1) ?? null}`);
    }
    const objects = commitObjects(options.repo);

    // Outbound: every event marked sent reached the bus.
    const sent = await all<{ event_id: string }>(`SELECT event_id FROM outbox WHERE sent_at IS NOT NULL`);
    const missingOnBus = options.seenOnBus ? sent.map((r) => r.event_id).filter((id) => !options.seenOnBus!.has(id)) : [];

    return {
      messages: {
        published: options.published.size,
        stored,
        storedTwice,
        missing: missing.map((id) => `${id} (#${options.published.get(id)!.seq}, ${options.published.get(id)!.kind})`),
        unexpected,
        rejected: rejectedRows.length,
        rejectedOfOurs,
        failed: failedRows.length,
        failedDetail: failedRows.map((r) => `${r.id} ${r.topic}: ${(r.dispatch_error ?? '').slice(0, 200)}`),
        pending: await one(`SELECT count(*) AS n FROM events WHERE dispatch_state = 'pending'`),
      },
      jobs: { byKind, queuedOrRunning, rerunDetail },
      composes: {
        requested: await one(`SELECT count(*) AS n FROM events WHERE topic = 'relengd.ostree.compose.requested'`),
        jobsWithCommit: composeJobs.filter((j) => j.state === 'succeeded' && jobCommit(j) !== null).length,
        noChange: composeJobs.filter((j) => j.state === 'succeeded' && jobCommit(j) === null).length,
        failed: composeJobs.filter((j) => j.state === 'failed').length,
        announced: finished.filter((f) => f.body.commit).length,
      },
      promotions: {
        decisions: await one(`SELECT count(*) AS n FROM events WHERE topic = 'greenwave.decision.update'`),
        promotedEvents: promoted.length,
        refused: await one(`SELECT count(*) AS n FROM events WHERE topic = 'relengd.release.promotion.refused'`),
        promoteJobsSucceeded: jobs.filter((j) => j.kind === 'promote' && j.state === 'succeeded').length,
      },
      refs,
      commitObjects: { total: objects.size, onRefs: onRefs.size, orphans: [...objects].filter((c) => !onRefs.has(c)).length },
      outbound: { sent: sent.length, pending: await one(`SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL`), missingOnBus },
      doubleEffects,
      mismatches,
    };
  });
}

/** Pending work as the drain gate sees it (store side). */
export function storeBacklog(store: StoreTarget): Promise<{ pendingEvents: number; activeJobs: number; outboxPending: number }> {
  return withReader(store, async ({ one }) => ({
    pendingEvents: await one(`SELECT count(*) AS n FROM events WHERE dispatch_state = 'pending'`),
    activeJobs: await one(`SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running', 'interrupted')`),
    outboxPending: await one(`SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL`),
  }));
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
