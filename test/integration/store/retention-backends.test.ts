/**
 * Retention's key cases on both backends, set up through the async store API: the same rows give
 * the same decisions on SQLite and PostgreSQL (what is kept, what goes, what is counted).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import { jobDirName } from '../../../src/jobs/runner.ts';
import { PROMOTION } from '../../../src/pipeline/listeners/promoter.ts';
import { RELEASES, type ReleaseHistory } from '../../../src/pipeline/listeners/release-history.ts';
import { SIGN_REQUESTS, SIGNATURES, type SignatureRecord } from '../../../src/pipeline/listeners/sign-state.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import { storeEmitted } from '../../../src/store/emit.ts';
import type { JobState } from '../../../src/store/jobs.ts';
import { PostgresStore } from '../../../src/store/postgres/index.ts';
import { pruneStore, type RetentionOptions } from '../../../src/pipeline/retention.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { postgresMissingReason, titled, useThrowawayDatabase } from '../../helpers/postgres.ts';
import { tempDir } from '../../helpers/tmp.ts';

const NOW = new Date('2026-12-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
/** Past every retention below (events 90 days, rejected and job directories 30). */
const OLD = daysAgo(100);
const RECENT = daysAgo(10);

interface Backend {
  name: 'sqlite' | 'postgres';
  /** Why the backend's tests are skipped, or null. */
  missing: string | null;
  /** Registers the hooks that give each test an empty store; returns it, readable inside a test. */
  use(): () => StoreApi;
  /** Marks a queued job running (as a claim would, without a runner). */
  setRunning(store: StoreApi, id: string, at: string): Promise<void>;
  /** The outbox's event ids in the order rows were added. */
  outboxIds(store: StoreApi): Promise<string[]>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    missing: null,
    use() {
      let store: SqliteStore | undefined;
      beforeEach(() => {
        store = SqliteStore.open(join(tempDir(), 'relengd.db'));
      });
      afterEach(async () => {
        await store?.close();
      });
      return () => store!;
    },
    async setRunning(store, id, at) {
      (store as SqliteStore).sync.db.prepare(`UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?`).run(at, id);
    },
    async outboxIds(store) {
      return ((store as SqliteStore).sync.db.prepare('SELECT event_id FROM outbox ORDER BY rowid').all() as Array<{ event_id: string }>).map((r) => r.event_id);
    },
  },
  {
    name: 'postgres',
    missing: postgresMissingReason,
    use() {
      const url = useThrowawayDatabase();
      let store: PostgresStore | undefined;
      beforeAll(async () => {
        store = await PostgresStore.open(url(), { replicaId: 'retention', applicationName: 'retention-test' });
      });
      beforeEach(async () => {
        await store!.db.query('TRUNCATE events, outbox, jobs, state, rejected, daemons, leases, replicas RESTART IDENTITY');
      });
      afterAll(async () => {
        await store?.close();
      });
      return () => store!;
    },
    async setRunning(store, id, at) {
      await (store as PostgresStore).db.query(`UPDATE jobs SET state = 'running', started_at = $1 WHERE id = $2`, [at, id]);
    },
    async outboxIds(store) {
      return (await (store as PostgresStore).db.query<{ event_id: string }>('SELECT event_id FROM outbox ORDER BY seq')).rows.map((r) => r.event_id);
    },
  },
];

describe.each(backends)('retention on $name', (backend) => {
  describe.skipIf(backend.missing !== null)(backend.missing === null ? backend.name : titled(backend.name), () => {
    const current = backend.use();
    let workdir = '';
    beforeEach(() => {
      workdir = join(tempDir(), 'jobs');
    });
    afterEach(() => rmSync(workdir, { recursive: true, force: true }));

    const options = (more: Partial<RetentionOptions> = {}): RetentionOptions => ({
      eventsDays: 90,
      rejectedDays: 30,
      jobDirectoriesDays: 30,
      jobDirectoryOf: (id) => join(workdir, jobDirName(id)),
      now: NOW,
      ...more,
    });

    /** An inbound message received at `at`, dispatched unless `pending`. */
    async function inbound(store: StoreApi, id: string, at: string, o: { correlationid?: string; dispatch?: 'pending' | 'done' | 'failed' } = {}): Promise<void> {
      const envelope = makeEnvelope({ topic: 'org.example.thing.happened', id, data: { n: 1 }, correlationid: o.correlationid }, { receivedAt: at });
      await store.events.insert(envelope, { origin: 'inbound', transport: 'test', receivedAt: at });
      const stored = (await store.events.get(id))!;
      if ((o.dispatch ?? 'done') === 'done') await store.events.markDispatched(stored.seq, at);
      if (o.dispatch === 'failed') await store.events.markDispatchFailed(stored, 'listener threw', 1);
    }

    /** An event relengd emitted at `at` (dispatched), its outbox row sent unless `unsent`. @returns its id. */
    async function emitted(store: StoreApi, key: string, at: string, o: { correlationId: string; unsent?: boolean }): Promise<string> {
      const envelope = (await storeEmitted(store, { topic: 'relengd.release.promotion.refused', key, data: { group: 'f26', version: key, reason: 'gate-failed', detail: key } }, { causeId: `cause-${key}`, correlationId: o.correlationId, emitter: 'test', topicPrefix: 'org.example', now: at }))!;
      await store.events.markDispatched((await store.events.get(envelope.id))!.seq, at);
      if (!o.unsent) await store.outbox.markSent(envelope.id, at);
      return envelope.id;
    }

    /** A job in `state`, ended at `finishedAt` when finished, with a file in its directory. */
    async function job(store: StoreApi, id: string, state: JobState, o: { correlationId: string; causeEventId?: string; finishedAt?: string; kind?: string; queueKey?: string; spec?: Record<string, unknown> }): Promise<void> {
      await store.jobs.insert({ id, kind: o.kind ?? 'compose', queueKey: o.queueKey ?? id, spec: o.spec ?? {}, causeEventId: o.causeEventId ?? `cause-of-${id}`, correlationId: o.correlationId, listener: 'test' }, OLD);
      if (state === 'running') await backend.setRunning(store, id, OLD);
      else if (state !== 'queued') await store.jobs.finish(id, { state }, o.finishedAt ?? OLD);
      mkdirSync(join(workdir, jobDirName(id)), { recursive: true });
      writeFileSync(join(workdir, jobDirName(id), 'job.log'), 'log\n');
    }

    /** A release candidate in `phase`, needing the compose `composeId`, last changed at `at`. */
    async function candidate(store: StoreApi, version: string, phase: string, composeId: string, at: string, commit = 'c'.repeat(64)): Promise<void> {
      const value = { group: 'f26', version, composes: { x86_64: { composeId, stream: 'f26-x86_64', ref: 'fedora/26/x86_64/updates/atomic-host', commit, status: 'FINISHED', artifacts: [] } }, approval: null, phase };
      await store.state.put(PROMOTION, `f26/${version}`, value, at, 'promoter');
    }

    const eventIds = async (store: StoreApi) => (await store.events.query({ order: 'asc' })).map((e) => e.envelope.id);

    it.each([500, 2])('deletes old events nothing needs and keeps pending, unsent, unfinished chains and open candidates (%i rows a transaction)', async (batchSize) => {
      const store = current();
      await job(store, 'queued-job', 'queued', { correlationId: 'chain-queued', causeEventId: 'cause-of-queued' });
      await job(store, 'running-job', 'running', { correlationId: 'chain-running' });
      await job(store, 'interrupted-job', 'interrupted', { correlationId: 'chain-interrupted' });
      await job(store, 'finished-job', 'succeeded', { correlationId: 'chain-finished', causeEventId: 'cause-of-finished' });
      await job(store, 'compose-open', 'succeeded', { correlationId: 'chain-open' });
      await job(store, 'compose-promoting', 'succeeded', { correlationId: 'chain-promoting' });
      await job(store, 'compose-promoted', 'succeeded', { correlationId: 'chain-promoted' });
      await candidate(store, '26.1', 'open', 'compose-open', OLD);
      await candidate(store, '26.2', 'promoting', 'compose-promoting', OLD);
      await candidate(store, '26.0', 'promoted', 'compose-promoted', OLD);

      await inbound(store, 'old-done', OLD);
      await inbound(store, 'old-pending', OLD, { dispatch: 'pending' });
      await inbound(store, 'old-failed', OLD, { dispatch: 'failed' });
      const sent = await emitted(store, 'sent', OLD, { correlationId: 'chain-x' });
      const unsent = await emitted(store, 'unsent', OLD, { correlationId: 'chain-x', unsent: true });
      await inbound(store, 'cause-of-queued', OLD, { correlationid: 'another-chain' });
      await inbound(store, 'in-chain-queued', OLD, { correlationid: 'chain-queued' });
      const ofRunning = await emitted(store, 'of-running', OLD, { correlationId: 'chain-running' });
      await inbound(store, 'in-chain-interrupted', OLD, { correlationid: 'chain-interrupted' });
      await inbound(store, 'cause-of-finished', OLD, { correlationid: 'chain-finished' });
      const ofFinished = await emitted(store, 'of-finished', OLD, { correlationId: 'chain-finished' });
      await inbound(store, 'chain-open', OLD);
      const ofOpen = await emitted(store, 'compose-open-finished', OLD, { correlationId: 'chain-open' });
      const ofPromoting = await emitted(store, 'compose-promoting-finished', OLD, { correlationId: 'chain-promoting' });
      await inbound(store, 'chain-promoted', OLD);
      const ofPromoted = await emitted(store, 'compose-promoted-finished', OLD, { correlationId: 'chain-promoted' });
      await inbound(store, 'recent-done', RECENT);
      const recentSent = await emitted(store, 'recent-sent', RECENT, { correlationId: 'chain-y' });

      const report = await pruneStore(store, options({ batchSize }));

      expect(await eventIds(store)).toEqual(['old-pending', unsent, 'cause-of-queued', 'in-chain-queued', ofRunning, 'in-chain-interrupted', 'chain-open', ofOpen, ofPromoting, 'recent-done', recentSent]);
      for (const gone of ['old-done', 'old-failed', sent, 'cause-of-finished', ofFinished, 'chain-promoted', ofPromoted]) expect(await store.events.has(gone)).toBe(false);
      expect(await backend.outboxIds(store)).toEqual([unsent, ofRunning, ofOpen, ofPromoting, recentSent]);
      expect(await store.outbox.countPending()).toBe(1);
      expect(report).toMatchObject({ events: 7, outbox: 3, eventsKept: 9 });
      // Job rows are history: all kept.
      expect((await store.jobs.list()).length).toBe(7);
      // Nothing more the next time.
      expect(await pruneStore(store, options({ batchSize }))).toMatchObject({ events: 0, outbox: 0, eventsKept: 9 });
    });

    it('deletes rejected messages received before the rejected retention and keeps the rest', async () => {
      const store = current();
      for (const [topic, at] of [
        ['old', daysAgo(31)],
        ['recent', daysAgo(29)],
      ] as const) {
        await store.rejected.insert({ receivedAt: at, transport: 'test', topic, messageId: null, publisher: null, reason: 'schema', field: null, detail: 'bad', headers: {}, raw: Buffer.from('{}') });
      }
      const report = await pruneStore(store, options());
      expect((await store.rejected.list()).map((r) => r.topic)).toEqual(['recent']);
      expect(report.rejected).toBe(1);
    });

    it("keeps the job directories of an open candidate's composes named by compose id (relengd's and Pungi's), and removes the rest", async () => {
      const store = current();
      const ended = daysAgo(40);
      await job(store, 'compose-job', 'succeeded', { correlationId: 'chain-relengd', finishedAt: ended, spec: { composeId: 'Fedora-AtomicHost-26-20261126.0', stream: 'f26-x86_64' } });
      await job(store, 'other-arch', 'succeeded', { correlationId: 'chain-other', finishedAt: ended, spec: { composeId: 'Fedora-AtomicHost-26-20261126.0', stream: 'f26-aarch64' } });
      await candidate(store, '26.20261126.0', 'open', 'Fedora-AtomicHost-26-20261126.0', ended);
      await job(store, 'pungi-commit-job', 'succeeded', { correlationId: 'chain-pungi', finishedAt: ended, kind: 'pungi-commit', spec: { composeId: 'derived', pungiComposeId: 'Fedora-27-20261126.n.0', stream: 'f26-x86_64' } });
      await candidate(store, 'Fedora-27-20261126.n.0', 'open', 'Fedora-27-20261126.n.0', ended);
      await job(store, 'long-promoted', 'succeeded', { correlationId: 'chain-long', finishedAt: ended });
      await candidate(store, '26.0', 'promoted', 'long-promoted', daysAgo(35));

      const report = await pruneStore(store, options());

      const exists = (id: string) => existsSync(join(workdir, jobDirName(id)));
      expect(['compose-job', 'pungi-commit-job', 'other-arch', 'long-promoted'].map(exists)).toEqual([true, true, false, false]);
      expect(report.jobDirectories).toBe(2);
    });

    it.each([500, 2])('drops signing records nothing keeps and keeps those of release refs, the release history, open candidates and waits in flight (%i rows a transaction)', async (batchSize) => {
      const store = current();
      const hex = (c: string) => c.repeat(64);
      const signature = async (commit: string, state: SignatureRecord['state'], at: string) => {
        const subject = { commit, repo: '/srv/repo', ref: 'fedora/26/x86_64/updates/atomic-host', stream: 'f26-x86_64', group: 'f26', arch: 'x86_64', version: '26.0', composeId: '26.0', purpose: 'candidate' as const };
        const record: SignatureRecord = {
          subject,
          state,
          purposes: ['candidate'],
          request: { requestId: `req-${commit.slice(0, 4)}`, attempt: 1, attempts: 1, sent: 1, at, eventId: `ev-${commit}` },
          verified: state === 'verified' ? { keyId: 'KEY', signer: null, by: 'wait', at, eventId: `verified-${commit}` } : null,
          timeouts: [],
          replies: [],
          refusals: [],
        };
        await store.state.put(SIGNATURES, commit, record, at, 'signer');
        await store.state.put(SIGN_REQUESTS, `req-${commit.slice(0, 4)}`, commit, at, 'signer');
      };
      // Promoted long ago and no longer released, refused long ago, and never a candidate's: nothing keeps them.
      await candidate(store, '26.0', 'promoted', 'c-26.0', OLD, hex('a'));
      await signature(hex('a'), 'verified', OLD);
      await candidate(store, '26.1', 'refused', 'c-26.1', OLD, hex('b'));
      await signature(hex('b'), 'timed-out', OLD);
      await signature(hex('9'), 'timed-out', OLD);
      await job(store, 'watch-9', 'running', { correlationId: 'chain-watch', kind: 'sign-watch', queueKey: `sign-watch:${hex('9')}` });
      // An open candidate's commit, one promoted within the retention.
      await candidate(store, '26.2', 'open', 'c-26.2', OLD, hex('c'));
      await signature(hex('c'), 'timed-out', OLD);
      await candidate(store, '26.3', 'promoted', 'c-26.3', RECENT, hex('d'));
      await signature(hex('d'), 'verified', OLD);
      // What the release ref points at now, and an earlier release a rollback may go back to.
      await signature(hex('e'), 'verified', OLD);
      await signature(hex('f'), 'verified', OLD);
      const history: ReleaseHistory = {
        group: 'f26',
        promotions: [
          { version: '25.9', at: OLD, eventId: 'p1', refs: [{ arch: 'x86_64', ref: 'fedora/26/x86_64/atomic-host', commit: hex('f') }], artifacts: [] },
          { version: '26.4', at: OLD, eventId: 'p2', refs: [{ arch: 'x86_64', ref: 'fedora/26/x86_64/atomic-host', commit: hex('e') }], artifacts: [] },
        ],
        current: { version: '26.4', refs: [{ arch: 'x86_64', ref: 'fedora/26/x86_64/atomic-host', commit: hex('e') }] },
        rolledBack: {},
        rollingBack: null,
      };
      await store.state.put(RELEASES, 'f26', history, OLD, 'rollback');
      // Still being asked for, or a reply's check queued; changed within the retention.
      await signature(hex('1'), 'requested', OLD);
      await signature(hex('2'), 'timed-out', OLD);
      await job(store, 'verify-2', 'queued', { correlationId: 'chain-verify', kind: 'sign-verify', queueKey: `sign-verify:${hex('2')}` });
      await signature(hex('3'), 'timed-out', RECENT);

      const report = await pruneStore(store, options({ batchSize }));

      const kept = [hex('1'), hex('2'), hex('3'), hex('c'), hex('d'), hex('e'), hex('f')];
      expect((await store.state.list(SIGNATURES)).map((r) => r.key).sort()).toEqual(kept);
      expect((await store.state.list(SIGN_REQUESTS)).map((r) => r.value as string).sort()).toEqual(kept);
      expect(report).toMatchObject({ signatures: 3, signRequests: 3, imageLists: 0 });
      expect(await pruneStore(store, options({ batchSize }))).toMatchObject({ signatures: 0, signRequests: 0, imageLists: 0 });
    });
  });
});

describe.skipIf(postgresMissingReason !== null)(titled('retention on postgres, with another replica writing'), () => {
  const url = useThrowawayDatabase();

  it('sees a job retried in a transaction still open when it decides: the retried job keeps its cause', async () => {
    const store = await PostgresStore.open(url(), { replicaId: 'pruner', applicationName: 'retention-pruner' });
    const other = await PostgresStore.open(url(), { replicaId: 'other', applicationName: 'retention-other' });
    try {
      const envelope = makeEnvelope({ topic: 'org.example.thing.happened', id: 'cause-of-retried', data: {} }, { receivedAt: OLD });
      await store.events.insert(envelope, { origin: 'inbound', transport: 'test', receivedAt: OLD });
      await store.events.markDispatched((await store.events.get('cause-of-retried'))!.seq, OLD);
      await store.jobs.insert({ id: 'retried', kind: 'compose', queueKey: 'k', spec: {}, causeEventId: 'cause-of-retried', correlationId: 'chain-retried', listener: 'test' }, OLD);
      await store.jobs.finish('retried', { state: 'failed', error: 'boom' }, OLD);

      let pruning: Promise<unknown> | undefined;
      await other.transaction(async () => {
        expect(await other.jobs.retry('retried')).toBe(true);
        // Pruning starts while the retry is uncommitted; it waits for the lock on jobs.
        pruning = pruneStore(store, { eventsDays: 90, rejectedDays: 30, jobDirectoriesDays: 30, jobDirectoryOf: (id) => join(tempDir(), id), now: NOW });
        await vi.waitFor(async () => {
          const waiting = await other.db.outsideTransaction(() => other.db.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname IN ('jobs', 'state')`));
          expect(waiting.rowCount).toBeGreaterThan(0);
        });
      });
      expect(await pruning).toMatchObject({ events: 0, eventsKept: 1 });
      expect(await store.events.has('cause-of-retried')).toBe(true);
    } finally {
      await other.close();
      await store.close();
    }
  });
});
