/**
 * The store API's contract (src/store/api.ts), run against both backends: SQLite on a temporary file
 * and PostgreSQL on a throwaway database (skipped, saying why, when no server answers; failing under
 * CI=true). Each test expects the same literal results from both, so a backend that differs fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../src/events/envelope.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import { eventRow, type EventRowMeta } from '../../../src/store/events.ts';
import type { InboxWrite } from '../../../src/store/inbox.ts';
import type { JobRow, NewJobRow } from '../../../src/store/jobs.ts';
import { PostgresStore } from '../../../src/store/postgres/index.ts';
import type { Rejection } from '../../../src/store/rejected.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { createThrowawayDatabase, postgresMissingReason, titled, useThrowawayDatabase } from '../../helpers/postgres.ts';

const AT = '2026-12-02T10:00:00.000Z';
const at = (second: number): string => `2026-12-02T10:00:${String(second).padStart(2, '0')}.000Z`;

interface Backend {
  name: 'sqlite' | 'postgres';
  /** Why the backend's tests are skipped, or null. */
  missing: string | null;
  /** Registers the hooks that give each test an empty store; returns it, readable inside a test. */
  use(): () => StoreApi;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    missing: null,
    use() {
      let dir: string | undefined;
      let store: SqliteStore | undefined;
      beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), 'relengd-contract-'));
        store = SqliteStore.open(join(dir, 'store.db'));
      });
      afterEach(async () => {
        await store?.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });
      return () => store!;
    },
  },
  {
    name: 'postgres',
    missing: postgresMissingReason,
    use() {
      const url = useThrowawayDatabase();
      let store: PostgresStore | undefined;
      beforeAll(async () => {
        store = await PostgresStore.open(url(), { replicaId: 'contract', applicationName: 'backend-contract' });
      });
      beforeEach(async () => {
        // As fresh as a new SQLite file: no rows, sequences from 1.
        await store!.db.query('TRUNCATE events, outbox, jobs, state, rejected, daemons, leases, replicas RESTART IDENTITY');
      });
      afterAll(async () => {
        await store?.close();
      });
      return () => store!;
    },
  },
];

function envelope(id: string, fields: Partial<Envelope> = {}): Envelope {
  return {
    id,
    topic: 'bodhi.compose.complete',
    prefix: 'org.fedoraproject.prod.',
    type: 'org.fedoraproject.prod.bodhi.compose.complete',
    source: 'https://bodhi.fedoraproject.org',
    time: AT,
    subject: 'f26-updates',
    correlationid: id,
    headers: { fedora_messaging_schema: 'bodhi.compose.complete.v1' },
    data: { id },
    known: true,
    ...fields,
  };
}

const inbound: EventRowMeta = { origin: 'inbound', transport: 'amqp', receivedAt: at(1) };
const emittedMeta: EventRowMeta = { origin: 'emitted', transport: 'relengd', receivedAt: at(2) };

/** An event relengd emitted, caused by `cause`. */
function emitted(id: string, cause: Envelope, fields: Partial<Envelope> = {}): Envelope {
  return envelope(id, { topic: 'relengd.compose.requested', type: 'org.relengd.compose.requested', source: 'relengd', correlationid: cause.correlationid, causationid: cause.id, headers: {}, ...fields });
}

const eventWrite = (e: Envelope, meta: EventRowMeta = inbound): InboxWrite => ({ table: 'events', row: eventRow(e, meta) });

function rejection(raw: Uint8Array, fields: Partial<Rejection> = {}): Rejection {
  return {
    receivedAt: at(3),
    transport: 'amqp',
    topic: 'bodhi.compose.complete',
    messageId: 'bad-1',
    publisher: 'bodhi',
    reason: 'not-json',
    field: null,
    detail: 'Unexpected token',
    headers: { 'amqp.routing-key': 'org.fedoraproject.prod.bodhi.compose.complete' },
    raw,
    ...fields,
  };
}

function job(id: string, queueKey: string, fields: Partial<NewJobRow> = {}): NewJobRow {
  return { id, kind: 'compose', queueKey, spec: { composeId: `c-${id}`, stream: queueKey }, causeEventId: `cause-${id}`, correlationId: 'corr', listener: 'composer', ...fields };
}

const logPathFor = (j: JobRow): string => `/var/log/relengd/jobs/${j.id}-${j.attempts + 1}.log`;

/** A job as the API defines it: JobRow's fields only (PostgreSQL's claim adds the lease's). */
function jobRow(j: JobRow | undefined): JobRow | undefined {
  if (!j) return undefined;
  const { id, kind, queueKey, spec, causeEventId, correlationId, listener, state, attempts, createdAt, startedAt, finishedAt, logPath, result, error, emitted: ids, retries } = j;
  return { id, kind, queueKey, spec, causeEventId, correlationId, listener, state, attempts, createdAt, startedAt, finishedAt, logPath, result, error, emitted: ids, retries };
}

/** What one listener's dispatch writes: an event, a job, listener state, an emitted event and its outbox row. */
async function decide(store: StoreApi, id: string): Promise<void> {
  const e = envelope(id);
  await store.events.insert(e, inbound);
  await store.jobs.insert(job(`job-${id}`, `ref-${id}`), AT);
  await store.state.put('compose-queue', `ref-${id}`, { queued: `job-${id}` }, AT, 'composer');
  await store.events.insert(emitted(`${id}.requested`, e), emittedMeta);
  await store.outbox.add(`${id}.requested`, 'relengd.compose.requested', AT);
}

/** Which of `decide`'s writes are in the store. */
async function written(store: StoreApi, id: string): Promise<Record<string, boolean>> {
  return {
    event: await store.events.has(id),
    job: (await store.jobs.get(`job-${id}`)) !== undefined,
    state: (await store.state.get('compose-queue', `ref-${id}`)) !== undefined,
    emitted: await store.events.has(`${id}.requested`),
    outbox: (await store.outbox.pending(100)).some((item) => item.eventId === `${id}.requested`),
  };
}

const all = { event: true, job: true, state: true, emitted: true, outbox: true };
const none = { event: false, job: false, state: false, emitted: false, outbox: false };

describe.each(backends)('store API contract: $name', (backend) => {
  describe.skipIf(backend.missing !== null)(backend.missing === null ? backend.name : titled(backend.name), () => {
    const store = backend.use();

    it('says which backend it is and whether it is open', () => {
      const s = store();
      expect(s.backend).toBe(backend.name);
      expect(s.isOpen()).toBe(true);
      expect(s.location).not.toMatch(/:[^:@/]*@/); // no password
    });

    it('writeInbox stores each message id once: across batches and within one; rejected rows always', async () => {
      const s = store();
      const big = new Uint8Array(70_000).fill(0x7b);
      const first = await s.writeInbox([eventWrite(envelope('m1')), eventWrite(envelope('m2')), { table: 'rejected', row: s.rejected.row(rejection(big)) }, eventWrite(envelope('m1'))]);
      expect(first).toEqual([true, true, true, false]);
      const second = await s.writeInbox([eventWrite(envelope('m2')), eventWrite(envelope('m3')), eventWrite(envelope('m3'))]);
      expect(second).toEqual([false, true, false]);
      expect(await s.writeInbox([])).toEqual([]);

      expect(await s.events.count()).toBe(3);
      // A duplicate uses up a seq on both backends (seqs order events; they are not counted).
      expect((await s.events.query({ order: 'asc' })).map((e) => [e.seq, e.envelope.id])).toEqual([
        [1, 'm1'],
        [2, 'm2'],
        [5, 'm3'],
      ]);
      expect(await s.events.get('m1')).toEqual({
        seq: 1,
        envelope: envelope('m1'),
        origin: 'inbound',
        transport: 'amqp',
        receivedAt: at(1),
        dispatchState: 'pending',
        dispatchAttempts: 0,
        dispatchError: null,
      });

      // The rejected body is cut to the bytes kept, decided before the write (`row` is synchronous).
      const row = s.rejected.row(rejection(big));
      expect(row[9].byteLength).toBe(65_536);
      expect(row[10]).toBe(70_000);
      expect(await s.rejected.count()).toBe(1);
      const [stored] = await s.rejected.list();
      expect({ ...stored!, raw: stored!.raw.byteLength }).toEqual({ ...rejection(big), raw: 65_536, seq: 1, rawSize: 70_000, rawTruncated: true });
      expect(Buffer.from(stored!.raw)).toEqual(Buffer.from(big.subarray(0, 65_536)));
    });

    it('writeInbox keeps a body that is the data byte for byte, and raw bytes beside JSON data', async () => {
      const s = store();
      const body = new TextEncoder().encode('{"z": 1,  "a": "é", "nested": {"b": [1, 2]}}');
      const data = { z: 1, a: 'é', nested: { b: [1, 2] } };
      const raw = new TextEncoder().encode('<xml/>');
      expect(
        await s.writeInbox([
          eventWrite(envelope('body', { data }), { ...inbound, raw: body, rawIsData: true }),
          eventWrite(envelope('raw', { known: false }), { ...inbound, raw }),
        ]),
      ).toEqual([true, true]);
      expect(Buffer.from((await s.events.raw('body'))!)).toEqual(Buffer.from(body));
      expect((await s.events.get('body'))?.envelope).toEqual(envelope('body', { data }));
      expect(Buffer.from((await s.events.raw('raw'))!)).toEqual(Buffer.from(raw));
      expect((await s.events.get('raw'))?.envelope.known).toBe(false);
      expect(await s.events.raw('missing')).toBeNull();
    });

    it('events: insert dedupes; pending in store order; markDispatched, markDispatchFailed, resetDispatch; query filters', async () => {
      const s = store();
      const first = envelope('e1', { time: at(10) });
      expect(await s.events.insert(first, inbound)).toBe(true);
      expect(await s.events.insert(first, inbound)).toBe(false);
      await s.events.insert(emitted('e1.requested', first, { time: at(11) }), emittedMeta);
      await s.events.insert(envelope('e2', { time: at(12), topic: 'pungi.compose.status.change', subject: 'f26' }), inbound);
      await s.events.insert(envelope('cal', { time: at(20), topic: 'relengd.schedule.fired' }), { ...inbound, transport: 'calendar' });

      const pending = await s.events.pending(10);
      // The duplicate of e1 used up seq 2.
      expect(pending.map((e) => [e.seq, e.envelope.id])).toEqual([
        [1, 'e1'],
        [3, 'e1.requested'],
        [4, 'e2'],
        [5, 'cal'],
      ]);
      expect((await s.events.pending(2)).map((e) => e.envelope.id)).toEqual(['e1', 'e1.requested']);
      await s.events.markDispatched(pending[0]!.seq, at(30));
      await s.events.markDispatchFailed(pending[1]!, 'listener threw', 3);
      await s.events.markDispatchFailed(pending[2]!, 'listener threw', 1);
      expect((await s.events.pending(10)).map((e) => [e.envelope.id, e.dispatchAttempts, e.dispatchError])).toEqual([
        ['e1.requested', 1, 'listener threw'],
        ['cal', 0, null],
      ]);
      expect(await s.events.get('e1')).toMatchObject({ dispatchState: 'done', dispatchAttempts: 1, dispatchError: null });
      expect(await s.events.get('e2')).toMatchObject({ dispatchState: 'failed', dispatchAttempts: 1, dispatchError: 'listener threw' });
      const byState = (await s.events.countsByState()).sort((x, y) => `${x.origin}${x.state}`.localeCompare(`${y.origin}${y.state}`));
      expect(byState).toEqual([
        { origin: 'emitted', state: 'pending', n: 1 },
        { origin: 'inbound', state: 'done', n: 1 },
        { origin: 'inbound', state: 'failed', n: 1 },
        { origin: 'inbound', state: 'pending', n: 1 },
      ]);
      await s.events.resetDispatch([pending[2]!.seq]);
      expect(await s.events.get('e2')).toMatchObject({ dispatchState: 'pending', dispatchAttempts: 0 });
      await s.events.resetDispatch([]);

      const ids = async (q: Parameters<StoreApi['events']['query']>[0]) => (await s.events.query(q)).map((e) => e.envelope.id);
      expect(await ids({})).toEqual(['cal', 'e2', 'e1.requested', 'e1']);
      expect(await ids({ order: 'asc', limit: 2 })).toEqual(['e1', 'e1.requested']);
      expect(await ids({ topic: 'bodhi.compose.complete' })).toEqual(['e1']);
      expect(await ids({ type: 'org.relengd.compose.requested' })).toEqual(['e1.requested']);
      expect(await ids({ subject: 'f26' })).toEqual(['e2']);
      expect(await ids({ since: at(11), until: at(20), order: 'asc' })).toEqual(['e1.requested', 'e2']);
      expect(await ids({ correlationId: 'e1', order: 'asc' })).toEqual(['e1', 'e1.requested']);
      expect(await ids({ dispatchState: 'pending', order: 'asc' })).toEqual(['e1.requested', 'e2', 'cal']);
      expect(await ids({ afterSeq: 3, order: 'asc' })).toEqual(['e2', 'cal']);
      expect(await ids({ beforeSeq: 4 })).toEqual(['e1.requested', 'e1']);
      expect(await ids({ origin: 'emitted' })).toEqual(['e1.requested']);
      expect(await ids({ ids: ['e2', 'e1', 'nope'], order: 'asc' })).toEqual(['e1', 'e2']);

      expect(await s.events.lastInboundTime()).toBe(at(12)); // the calendar's firing says nothing about the bus
      expect(await s.events.has('e2')).toBe(true);
      expect(await s.events.delete('e2')).toBe(true);
      expect(await s.events.delete('e2')).toBe(false);
      expect(await s.events.get('e2')).toBeUndefined();
      expect(await s.events.count()).toBe(3);
    });

    it('jobs: insert dedupes; claimNext runs one job per queue key, oldest first; finish, retry, requeue, list', async () => {
      const s = store();
      expect(await s.jobs.insert(job('a1', 'ref-a'), at(1))).toBe(true);
      expect(await s.jobs.insert(job('a1', 'ref-a'), at(9))).toBe(false);
      await s.jobs.insert(job('b1', 'ref-b', { kind: 'build' }), at(2));
      await s.jobs.insert(job('a2', 'ref-a'), at(3));

      expect(jobRow(await s.jobs.claimNext(at(10), logPathFor, ['promote']))).toBeUndefined();
      expect(jobRow(await s.jobs.claimNext(at(10), logPathFor, []))).toBeUndefined();
      const a1 = await s.jobs.claimNext(at(10), logPathFor);
      expect(jobRow(a1)).toEqual({
        ...job('a1', 'ref-a'),
        state: 'running',
        attempts: 1,
        createdAt: at(1),
        startedAt: at(10),
        finishedAt: null,
        logPath: '/var/log/relengd/jobs/a1-1.log',
        result: null,
        error: null,
        emitted: [],
        retries: 0,
      });
      expect(jobRow(await s.jobs.claimNext(at(11), logPathFor, ['build']))).toMatchObject({ id: 'b1', state: 'running' });
      // a2 waits behind a1 on its queue key.
      expect(await s.jobs.claimNext(at(12), logPathFor)).toBeUndefined();
      expect(await s.jobs.countByState()).toEqual({ queued: 1, running: 2 });

      await s.jobs.finish('a1', { state: 'succeeded', result: { commit: 'abc' }, emitted: ['a1.finished'] }, at(20));
      expect(jobRow(await s.jobs.get('a1'))).toMatchObject({ state: 'succeeded', finishedAt: at(20), result: { commit: 'abc' }, error: null, emitted: ['a1.finished'] });
      expect(jobRow(await s.jobs.claimNext(at(21), logPathFor))).toMatchObject({ id: 'a2', attempts: 1 });
      await s.jobs.finish('b1', { state: 'failed', error: 'pungi exited 1' }, at(22));
      expect((await s.jobs.finishedFor(['cause-b1', 'cause-a1', 'cause-none'])).map((j) => j.id).sort()).toEqual(['a1', 'b1']);

      expect(await s.jobs.retry('a2')).toBe(false); // running: nothing to retry
      expect(await s.jobs.retry('b1')).toBe(true);
      expect(jobRow(await s.jobs.get('b1'))).toMatchObject({ state: 'queued', attempts: 1, retries: 1, finishedAt: null, error: null, result: null, emitted: [] });
      expect(jobRow(await s.jobs.claimNext(at(23), logPathFor))).toMatchObject({ id: 'b1', attempts: 2, retries: 1, logPath: '/var/log/relengd/jobs/b1-2.log' });
      await s.jobs.finish('a2', { state: 'interrupted', error: 'shutdown' }, at(24));
      await s.jobs.requeue('a2');
      expect(jobRow(await s.jobs.get('a2'))).toMatchObject({ state: 'queued', attempts: 1, finishedAt: null });

      expect((await s.jobs.list()).map((j) => j.id)).toEqual(['a2', 'b1', 'a1']);
      expect((await s.jobs.list({ limit: 1 })).map((j) => j.id)).toEqual(['a2']);
      expect((await s.jobs.list({ state: 'running' })).map((j) => j.id)).toEqual(['b1']);
      expect((await s.jobs.list({ kind: 'compose' })).map((j) => j.id)).toEqual(['a2', 'a1']);
      expect((await s.jobs.ofCompose('compose', 'c-a1', 'ref-a'))?.id).toBe('a1');
      expect(await s.jobs.ofCompose('compose', 'c-a1', 'ref-b')).toBeUndefined();
      expect(await s.jobs.countByState()).toEqual({ queued: 1, running: 1, succeeded: 1 });
      expect(await s.jobs.get('nope')).toBeUndefined();
    });

    it('outbox: add dedupes; pending oldest first; markSent, markFailed; countPending', async () => {
      const s = store();
      for (const [i, id] of ['o1', 'o2', 'o3'].entries()) {
        await s.events.insert(envelope(id), emittedMeta);
        await s.outbox.add(id, `relengd.${id}`, at(10 - i)); // created newest first
      }
      await s.outbox.add('o1', 'relengd.other', at(1));
      expect(await s.outbox.countPending()).toBe(3);
      expect(await s.observability.oldestPendingOutbox()).toBe(at(8));
      expect(await s.outbox.pending(2)).toEqual([
        { eventId: 'o3', routingKey: 'relengd.o3', createdAt: at(8), attempts: 0, lastError: null },
        { eventId: 'o2', routingKey: 'relengd.o2', createdAt: at(9), attempts: 0, lastError: null },
      ]);
      await s.outbox.markSent('o3', at(20));
      await s.outbox.markFailed('o2', 'channel closed');
      expect(await s.outbox.pending(10)).toEqual([
        { eventId: 'o2', routingKey: 'relengd.o2', createdAt: at(9), attempts: 1, lastError: 'channel closed' },
        { eventId: 'o1', routingKey: 'relengd.o1', createdAt: at(10), attempts: 0, lastError: null },
      ]);
      await s.outbox.markSent('o2', at(21));
      await s.outbox.markSent('o1', at(21));
      expect(await s.outbox.pending(10)).toEqual([]);
      expect(await s.outbox.countPending()).toBe(0);
      expect(await s.observability.oldestPendingOutbox()).toBeNull();
    });

    it('state: get, put (null deletes), list in byte order of keys', async () => {
      const s = store();
      expect(await s.state.get('ns', 'missing')).toBeUndefined();
      await s.state.put('ns', 'b', { n: 1 }, AT, 'test');
      await s.state.put('ns', 'B', [1, 'two'], AT, 'test');
      await s.state.put('ns', 'a', 'text', AT, 'test');
      await s.state.put('ns', '_', 0, AT, 'test');
      await s.state.put('other', 'a', false, AT, 'test');
      await s.state.put('ns', 'b', { n: 2 }, at(5), 'test');
      expect(await s.state.get('ns', 'b')).toEqual({ n: 2 });
      expect(await s.state.get('other', 'a')).toBe(false);
      expect(await s.state.list('ns')).toEqual([
        { key: 'B', value: [1, 'two'] },
        { key: '_', value: 0 },
        { key: 'a', value: 'text' },
        { key: 'b', value: { n: 2 } },
      ]);
      await s.state.put('ns', 'a', null, AT, 'test');
      await s.state.put('ns', 'never-set', null, AT, 'test');
      expect((await s.state.list('ns')).map((e) => e.key)).toEqual(['B', '_', 'b']);
      expect(await s.state.list('empty')).toEqual([]);
    });

    it('transaction: commits all writes, or none when fn throws', async () => {
      const s = store();
      await expect(
        s.transaction(async () => {
          await decide(s, 'rolled');
          expect(await written(s, 'rolled')).toEqual(all); // sees its own writes
          throw new Error('listener failed');
        }),
      ).rejects.toThrow('listener failed');
      expect(await written(s, 'rolled')).toEqual(none);
      expect(await s.outbox.countPending()).toBe(0);

      expect(await s.transaction(async () => (await decide(s, 'kept'), 'done'))).toBe('done');
      expect(await written(s, 'kept')).toEqual(all);
      expect(await s.writeInbox([eventWrite(envelope('rolled'))])).toEqual([true]); // its id was never stored
    });

    it('savepoint: undoes only its own writes when it throws; the transaction goes on', async () => {
      const s = store();
      await s.transaction(async () => {
        await decide(s, 'outer');
        await expect(
          s.savepoint(async () => {
            await s.state.put('inner', 'k', 1, AT, 'test');
            await s.jobs.insert(job('inner-job', 'ref-inner'), AT);
            throw new Error('inner failed');
          }),
        ).rejects.toThrow('inner failed');
        expect(await s.savepoint(async () => (await s.state.put('inner', 'ok', 2, AT, 'test'), 'released'))).toBe('released');
        // A nested transaction is a savepoint too.
        await expect(s.transaction(async () => (await s.state.put('nested', 'k', 3, AT, 'test'), Promise.reject(new Error('nested failed'))))).rejects.toThrow('nested failed');
        await s.state.put('after', 'k', 4, AT, 'test');
      });
      expect(await written(s, 'outer')).toEqual(all);
      expect(await s.state.get('inner', 'k')).toBeUndefined();
      expect(await s.jobs.get('inner-job')).toBeUndefined();
      expect(await s.state.get('inner', 'ok')).toBe(2);
      expect(await s.state.get('nested', 'k')).toBeUndefined();
      expect(await s.state.get('after', 'k')).toBe(4);
      // Outside a transaction, a savepoint is a transaction of its own.
      await expect(s.savepoint(async () => (await s.state.put('alone', 'k', 5, AT, 'test'), Promise.reject(new Error('alone failed'))))).rejects.toThrow('alone failed');
      expect(await s.state.get('alone', 'k')).toBeUndefined();
    });

    it('dryRun: returns what fn did and leaves nothing, whether fn succeeds or throws, inside a transaction too', async () => {
      const s = store();
      expect(await s.dryRun(async () => (await decide(s, 'dry'), written(s, 'dry')))).toEqual(all);
      expect(await written(s, 'dry')).toEqual(none);
      await expect(s.dryRun(async () => (await decide(s, 'dry-throw'), Promise.reject(new Error('dry failed'))))).rejects.toThrow('dry failed');
      expect(await written(s, 'dry-throw')).toEqual(none);

      await s.transaction(async () => {
        await decide(s, 'kept');
        expect(await s.dryRun(async () => (await s.state.put('dry', 'k', 1, AT, 'test'), s.state.get('dry', 'k')))).toBe(1);
        expect(await s.state.get('dry', 'k')).toBeUndefined();
      });
      expect(await written(s, 'kept')).toEqual(all);
      expect(await s.state.get('dry', 'k')).toBeUndefined();
      expect(await s.events.count()).toBe(2);
    });

    it('observability: events and rejections after a seq, job starts (first runs only) and ends, accepted times, last inbound', async () => {
      const s = store();
      const message = envelope('msg', { time: at(5) });
      const requested = emitted('msg.requested', message, { time: at(6) });
      const done = emitted('msg.done', requested, { topic: 'relengd.compose.finished', time: at(7) });
      await s.writeInbox([eventWrite(message, { ...inbound, receivedAt: at(5) }), eventWrite(envelope('later', { time: at(8) }), { ...inbound, receivedAt: at(9) })]);
      await s.events.insert(requested, emittedMeta);
      await s.events.insert(done, emittedMeta);
      // Caused by a job's result (its cause is not an event), and by a pruned event.
      await s.events.insert(emitted('of-job', envelope('job-1'), { topic: 'relengd.compose.finished' }), emittedMeta);
      await s.events.insert(emitted('orphan', envelope('pruned')), emittedMeta);
      // A cause chain longer than the walk goes: 17 emitted events above the inbound one.
      let cause: Envelope = message;
      for (let i = 0; i < 17; i++) {
        const next = emitted(`hop-${i}`, cause, { topic: 'relengd.hop' });
        await s.events.insert(next, emittedMeta);
        cause = next;
      }

      expect(await s.observability.eventsAfter('bodhi.compose.complete', 0)).toEqual([
        { seq: 1, time: at(5), data: { id: 'msg' } },
        { seq: 2, time: at(8), data: { id: 'later' } },
      ]);
      expect(await s.observability.eventsAfter('bodhi.compose.complete', 1)).toEqual([{ seq: 2, time: at(8), data: { id: 'later' } }]);
      expect(await s.observability.eventsAfter('no.such.topic', 0)).toEqual([]);

      expect(await s.observability.acceptedAtOf('msg')).toBe(at(5));
      expect(await s.observability.acceptedAtOf('msg.requested')).toBe(at(5));
      expect(await s.observability.acceptedAtOf('msg.done')).toBe(at(5));
      expect(await s.observability.acceptedAtOf('hop-14')).toBe(at(5)); // 16 rows: hop-14 ... hop-0, msg
      expect(await s.observability.acceptedAtOf('hop-15')).toBeNull(); // 17 rows: beyond the walk
      expect(await s.observability.acceptedAtOf('of-job')).toBeNull();
      expect(await s.observability.acceptedAtOf('orphan')).toBeNull();
      expect(await s.observability.acceptedAtOf('missing')).toBeNull();

      expect(await s.observability.lastInbound('bodhi.compose.complete')).toBe(at(9));
      expect(await s.observability.lastInbound('relengd.compose.finished')).toBeNull(); // emitted only

      await s.writeInbox([{ table: 'rejected', row: s.rejected.row(rejection(new Uint8Array([1]))) }]);
      await s.rejected.insert(rejection(new Uint8Array([2]), { transport: 'kafka', reason: 'unknown-topic' }));
      expect(await s.observability.rejectedAfter(0)).toEqual([
        { seq: 1, transport: 'amqp', reason: 'not-json' },
        { seq: 2, transport: 'kafka', reason: 'unknown-topic' },
      ]);
      expect(await s.observability.rejectedAfter(1)).toEqual([{ seq: 2, transport: 'kafka', reason: 'unknown-topic' }]);

      // first: a first run. rerun: requeued and run again (attempts 2). retried: an operator's retry.
      // interrupted: cut short by a shutdown (counted when its re-run ends).
      for (const id of ['first', 'rerun', 'retried', 'interrupted']) await s.jobs.insert(job(id, `ref-${id}`, { causeEventId: 'msg' }), at(1));
      for (let i = 0; i < 4; i++) await s.jobs.claimNext(at(10), logPathFor);
      await s.jobs.finish('first', { state: 'succeeded' }, at(20));
      await s.jobs.finish('rerun', { state: 'interrupted', error: 'shutdown' }, at(11));
      await s.jobs.requeue('rerun');
      expect((await s.jobs.claimNext(at(12), logPathFor))?.id).toBe('rerun');
      await s.jobs.finish('rerun', { state: 'failed', error: 'boom' }, at(21));
      await s.jobs.finish('retried', { state: 'failed', error: 'boom' }, at(13));
      await s.jobs.retry('retried');
      expect((await s.jobs.claimNext(at(14), logPathFor))?.id).toBe('retried');
      await s.jobs.finish('retried', { state: 'cancelled', error: 'cancelled by ops' }, at(22));
      await s.jobs.finish('interrupted', { state: 'interrupted', error: 'shutdown' }, at(23));

      const byId = <T extends { id: string }>(rows: T[]): T[] => rows.sort((x, y) => x.id.localeCompare(y.id));
      expect(byId(await s.observability.jobsStartedSince(at(10)))).toEqual([
        { id: 'first', kind: 'compose', causeEventId: 'msg', startedAt: at(10) },
        { id: 'interrupted', kind: 'compose', causeEventId: 'msg', startedAt: at(10) },
      ]);
      expect(await s.observability.jobsStartedSince(at(11))).toEqual([]);
      expect(byId(await s.observability.jobsFinishedSince(at(20)))).toEqual([
        { id: 'first', kind: 'compose', startedAt: at(10), finishedAt: at(20) },
        { id: 'rerun', kind: 'compose', startedAt: at(12), finishedAt: at(21) },
        { id: 'retried', kind: 'compose', startedAt: at(14), finishedAt: at(22) },
      ]);
      expect(byId(await s.observability.jobsFinishedSince(at(21)))).toEqual([
        { id: 'rerun', kind: 'compose', startedAt: at(12), finishedAt: at(21) },
        { id: 'retried', kind: 'compose', startedAt: at(14), finishedAt: at(22) },
      ]);
    });

    it('daemons: register, beat, list, remove', async () => {
      const s = store();
      await s.daemons.register({ id: 'd1', host: 'node-1', pid: 1, url: null, version: '1.0.0', startedAt: at(1), heartbeatAt: at(1) });
      await s.daemons.register({ id: 'd2', host: 'node-2', pid: 2, url: 'http://node-2:8080', version: '1.0.0', startedAt: at(2), heartbeatAt: at(2) });
      await s.daemons.beat('d1', at(5));
      expect((await s.daemons.list()).map((d) => [d.id, d.heartbeatAt])).toEqual([
        ['d1', at(5)],
        ['d2', at(2)],
      ]);
      await s.daemons.remove('d1');
      expect(await s.daemons.list()).toEqual([{ id: 'd2', host: 'node-2', pid: 2, url: 'http://node-2:8080', version: '1.0.0', startedAt: at(2), heartbeatAt: at(2) }]);
    });

    it('daemons: forgets those whose last heartbeat is older than a cutoff', async () => {
      const s = store();
      for (const [id, beat] of [['old', 1], ['at-cutoff', 3], ['new', 5]] as const) await s.daemons.register({ id, host: 'node-1', pid: beat, url: null, version: '1.0.0', startedAt: at(1), heartbeatAt: at(beat) });
      expect(await s.daemons.forgetSilentSince(at(3))).toBe(1);
      expect((await s.daemons.list()).map((d) => d.id)).toEqual(['new', 'at-cutoff']);
      expect(await s.daemons.forgetSilentSince(at(3))).toBe(0);
    });
  });
});

describe('store API contract: closing', () => {
  it('a closed SQLite store says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relengd-contract-'));
    try {
      const s = SqliteStore.open(join(dir, 'store.db'));
      await s.close();
      expect(s.isOpen()).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(postgresMissingReason !== null)(titled('a closed PostgreSQL store says so, and its location has no password'), async () => {
    const database = await createThrowawayDatabase();
    try {
      // The test server trusts loopback: the password is not checked, only kept out of `location`.
      const withPassword = new URL(database.url);
      withPassword.password = 'secret';
      const s = await PostgresStore.open(withPassword.href);
      const withoutPassword = new URL(database.url);
      withoutPassword.password = '';
      expect(s.location).toBe(withoutPassword.href);
      expect(s.location).not.toContain('secret');
      expect(s.isOpen()).toBe(true);
      await s.close();
      expect(s.isOpen()).toBe(false);
      await s.close(); // twice is fine
    } finally {
      await database.drop();
    }
  });
});
