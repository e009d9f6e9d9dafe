import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import { jobDirName } from '../../../src/jobs/runner.ts';
import { PROMOTION } from '../../../src/pipeline/listeners/promoter.ts';
import { storeEmitted } from '../../../src/store/emit.ts';
import type { JobState } from '../../../src/store/jobs.ts';
import { pruneStore, type RetentionOptions } from '../../../src/pipeline/retention.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const NOW = new Date('2026-12-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
/** Past every retention below (events 90 days, rejected and job directories 30). */
const OLD = daysAgo(100);
const RECENT = daysAgo(10);

const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

function setup() {
  const dir = tempDir();
  const store = Store.open(join(dir, 'relengd.db'));
  stores.push(store);
  const workdir = join(dir, 'jobs');
  const options = (more: Partial<RetentionOptions> = {}): RetentionOptions => ({
    eventsDays: 90,
    rejectedDays: 30,
    jobDirectoriesDays: 30,
    jobDirectoryOf: (id) => join(workdir, jobDirName(id)),
    now: NOW,
    ...more,
  });
  return { store, workdir, options };
}

/** An inbound message received at `at`, dispatched unless `pending`. */
function inbound(store: Store, id: string, at: string, o: { correlationid?: string; dispatch?: 'pending' | 'done' | 'failed' } = {}): void {
  const envelope = makeEnvelope({ topic: 'org.example.thing.happened', id, data: { n: 1 }, correlationid: o.correlationid }, { receivedAt: at });
  store.events.insert(envelope, { origin: 'inbound', transport: 'test', receivedAt: at });
  const seq = store.events.get(id)!.seq;
  if ((o.dispatch ?? 'done') === 'done') store.events.markDispatched(seq, at);
  if (o.dispatch === 'failed') store.events.markDispatchFailed(store.events.get(id)!, 'listener threw', 1);
}

/** An event relengd emitted at `at` (dispatched), its outbox row sent unless `unsent`. @returns its id. */
async function emitted(store: Store, key: string, at: string, o: { correlationId: string; unsent?: boolean }): Promise<string> {
  const envelope = (await storeEmitted(new SqliteStore(store), { topic: 'relengd.release.promotion.refused', key, data: { group: 'f26', version: key, reason: 'gate-failed', detail: key } }, { causeId: `cause-${key}`, correlationId: o.correlationId, emitter: 'test', topicPrefix: 'org.example', now: at }))!;
  store.events.markDispatched(store.events.get(envelope.id)!.seq, at);
  if (!o.unsent) store.outbox.markSent(envelope.id, at);
  return envelope.id;
}

/** A job in `state`, ended at `finishedAt` when finished, with a file in its directory. */
function job(store: Store, workdir: string, id: string, state: JobState, o: { correlationId: string; causeEventId?: string; finishedAt?: string; kind?: string; spec?: Record<string, unknown> }): void {
  store.jobs.insert({ id, kind: o.kind ?? 'compose', queueKey: id, spec: o.spec ?? {}, causeEventId: o.causeEventId ?? `cause-of-${id}`, correlationId: o.correlationId, listener: 'test' }, OLD);
  if (state === 'running') store.db.prepare(`UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?`).run(OLD, id);
  else if (state !== 'queued') store.jobs.finish(id, { state }, o.finishedAt ?? OLD);
  mkdirSync(join(workdir, jobDirName(id)), { recursive: true });
  writeFileSync(join(workdir, jobDirName(id), 'job.log'), 'log\n');
}

/** A release candidate in `phase`, needing the compose job `composeId`, last changed at `at`. */
function candidate(store: Store, version: string, phase: string, composeId: string, at: string): void {
  const value = { group: 'f26', version, composes: { x86_64: { composeId, stream: 'f26-x86_64', ref: 'fedora/26/x86_64/updates/atomic-host', commit: 'c'.repeat(64), status: 'FINISHED', artifacts: [] } }, approval: null, phase };
  store.state.put(PROMOTION, `f26/${version}`, value, at, 'promoter');
}

function rejected(store: Store, topic: string, at: string): void {
  store.rejected.insert({ receivedAt: at, transport: 'test', topic, messageId: null, publisher: null, reason: 'schema', field: null, detail: 'bad', headers: {}, raw: Buffer.from('{}') });
}

const eventIds = (store: Store) => store.events.query({ order: 'asc' }).map((e) => e.envelope.id);

describe.each([500, 2])('pruning the store (%i rows a transaction)', (batchSize) => {
  it('deletes old events nothing needs, with the outbox rows of the sent ones, and keeps every event still needed', async () => {
    const { store, workdir, options } = setup();
    job(store, workdir, 'queued-job', 'queued', { correlationId: 'chain-queued', causeEventId: 'cause-of-queued' });
    job(store, workdir, 'running-job', 'running', { correlationId: 'chain-running' });
    job(store, workdir, 'interrupted-job', 'interrupted', { correlationId: 'chain-interrupted' });
    job(store, workdir, 'finished-job', 'succeeded', { correlationId: 'chain-finished', causeEventId: 'cause-of-finished' });
    job(store, workdir, 'compose-open', 'succeeded', { correlationId: 'chain-open' });
    job(store, workdir, 'compose-promoting', 'succeeded', { correlationId: 'chain-promoting' });
    job(store, workdir, 'compose-promoted', 'succeeded', { correlationId: 'chain-promoted' });
    candidate(store, '26.1', 'open', 'compose-open', OLD);
    candidate(store, '26.2', 'promoting', 'compose-promoting', OLD);
    candidate(store, '26.0', 'promoted', 'compose-promoted', OLD);

    inbound(store, 'old-done', OLD);
    inbound(store, 'old-pending', OLD, { dispatch: 'pending' });
    inbound(store, 'old-failed', OLD, { dispatch: 'failed' });
    const sent = await emitted(store, 'sent', OLD, { correlationId: 'chain-x' });
    const unsent = await emitted(store, 'unsent', OLD, { correlationId: 'chain-x', unsent: true });
    inbound(store, 'cause-of-queued', OLD, { correlationid: 'another-chain' });
    inbound(store, 'in-chain-queued', OLD, { correlationid: 'chain-queued' });
    const ofRunning = await emitted(store, 'of-running', OLD, { correlationId: 'chain-running' });
    inbound(store, 'in-chain-interrupted', OLD, { correlationid: 'chain-interrupted' });
    inbound(store, 'cause-of-finished', OLD, { correlationid: 'chain-finished' });
    const ofFinished = await emitted(store, 'of-finished', OLD, { correlationId: 'chain-finished' });
    inbound(store, 'chain-open', OLD);
    const ofOpen = await emitted(store, 'compose-open-finished', OLD, { correlationId: 'chain-open' });
    const ofPromoting = await emitted(store, 'compose-promoting-finished', OLD, { correlationId: 'chain-promoting' });
    inbound(store, 'chain-promoted', OLD);
    const ofPromoted = await emitted(store, 'compose-promoted-finished', OLD, { correlationId: 'chain-promoted' });
    inbound(store, 'recent-done', RECENT);
    const recentSent = await emitted(store, 'recent-sent', RECENT, { correlationId: 'chain-y' });

    const report = await pruneStore(store, options({ batchSize }));

    expect(eventIds(store)).toEqual([
      'old-pending',
      unsent,
      'cause-of-queued',
      'in-chain-queued',
      ofRunning,
      'in-chain-interrupted',
      'chain-open',
      ofOpen,
      ofPromoting,
      'recent-done',
      recentSent,
    ]);
    for (const gone of ['old-done', 'old-failed', sent, 'cause-of-finished', ofFinished, 'chain-promoted', ofPromoted]) expect(store.events.has(gone)).toBe(false);
    const outbox = store.db.prepare('SELECT event_id FROM outbox ORDER BY rowid').all() as Array<{ event_id: string }>;
    expect(outbox.map((r) => r.event_id)).toEqual([unsent, ofRunning, ofOpen, ofPromoting, recentSent]);
    expect(store.outbox.pending(10).map((o) => o.eventId)).toEqual([unsent]);
    expect(report).toMatchObject({ events: 7, outbox: 3, eventsKept: 9 });
    // Job rows are history: all kept.
    expect(store.jobs.list().length).toBe(7);
  });
});

describe('pruning rejected messages', () => {
  it('deletes those received before the rejected retention and keeps the rest', async () => {
    const { store, options } = setup();
    rejected(store, 'old', daysAgo(31));
    rejected(store, 'recent', daysAgo(29));
    const report = await pruneStore(store, options());
    expect(store.rejected.list().map((r) => r.topic)).toEqual(['recent']);
    expect(report.rejected).toBe(1);
  });
});

describe('pruning job directories', () => {
  it('removes the directories of jobs that ended before the retention, keeping those of jobs that will run and of open or lately decided candidates', async () => {
    const { store, workdir, options } = setup();
    const ended = daysAgo(40);
    job(store, workdir, 'old-succeeded', 'succeeded', { correlationId: 'a', finishedAt: ended });
    job(store, workdir, 'old-failed', 'failed', { correlationId: 'b', finishedAt: ended });
    job(store, workdir, 'old/cancelled', 'cancelled', { correlationId: 'c', finishedAt: ended });
    job(store, workdir, 'recent-succeeded', 'succeeded', { correlationId: 'd', finishedAt: daysAgo(20) });
    job(store, workdir, 'old-interrupted', 'interrupted', { correlationId: 'e', finishedAt: ended });
    job(store, workdir, 'running', 'running', { correlationId: 'f' });
    job(store, workdir, 'queued', 'queued', { correlationId: 'g' });
    // An open candidate's compose and the artifact built from it (same chain).
    job(store, workdir, 'compose-open', 'succeeded', { correlationId: 'chain-open', finishedAt: ended });
    job(store, workdir, 'artifact-open', 'succeeded', { correlationId: 'chain-open', finishedAt: ended });
    candidate(store, '26.1', 'open', 'compose-open', ended);
    // Promoted five days ago: the site's sync may still be copying its artifacts.
    job(store, workdir, 'compose-lately-promoted', 'succeeded', { correlationId: 'chain-lately', finishedAt: ended });
    candidate(store, '26.2', 'promoted', 'compose-lately-promoted', daysAgo(5));
    job(store, workdir, 'compose-long-promoted', 'succeeded', { correlationId: 'chain-long', finishedAt: ended });
    candidate(store, '26.0', 'promoted', 'compose-long-promoted', daysAgo(35));

    const report = await pruneStore(store, options());

    const exists = (id: string) => existsSync(join(workdir, jobDirName(id)));
    expect(['old-succeeded', 'old-failed', 'old/cancelled', 'compose-long-promoted'].filter(exists)).toEqual([]);
    expect(['recent-succeeded', 'old-interrupted', 'running', 'queued', 'compose-open', 'artifact-open', 'compose-lately-promoted'].filter((id) => !exists(id))).toEqual([]);
    expect(report.jobDirectories).toBe(4);
    expect(store.jobs.list().length).toBe(11);
  });

  it("keeps the jobs of an open candidate whose composes are named by compose id: relengd's in Pungi's style, and Pungi's own", async () => {
    const { store, workdir, options } = setup();
    const ended = daysAgo(40);
    job(store, workdir, 'compose-job', 'succeeded', { correlationId: 'chain-relengd', finishedAt: ended, spec: { composeId: 'Fedora-AtomicHost-26-20261126.0', stream: 'f26-x86_64' } });
    job(store, workdir, 'other-arch', 'succeeded', { correlationId: 'chain-other', finishedAt: ended, spec: { composeId: 'Fedora-AtomicHost-26-20261126.0', stream: 'f26-aarch64' } });
    candidate(store, '26.20261126.0', 'open', 'Fedora-AtomicHost-26-20261126.0', ended);
    job(store, workdir, 'pungi-commit-job', 'succeeded', { correlationId: 'chain-pungi', finishedAt: ended, kind: 'pungi-commit', spec: { composeId: 'derived', pungiComposeId: 'Fedora-27-20261126.n.0', stream: 'f26-x86_64' } });
    candidate(store, 'Fedora-27-20261126.n.0', 'open', 'Fedora-27-20261126.n.0', ended);

    await pruneStore(store, options());

    const exists = (id: string) => existsSync(join(workdir, jobDirName(id)));
    // The candidate is x86_64's only: the aarch64 compose of the same id is another candidate's business.
    expect(['compose-job', 'pungi-commit-job', 'other-arch'].map(exists)).toEqual([true, true, false]);
  });

  it('counts nothing for a directory already gone', async () => {
    const { store, workdir, options } = setup();
    job(store, workdir, 'old-succeeded', 'succeeded', { correlationId: 'a', finishedAt: daysAgo(40) });
    expect((await pruneStore(store, options())).jobDirectories).toBe(1);
    expect((await pruneStore(store, options())).jobDirectories).toBe(0);
  });
});
