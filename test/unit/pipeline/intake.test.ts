/**
 * The inbox under attack: squatted derived ids, relengd's own events and commands from outside,
 * and one bad message in a batch of good ones. A real store (in memory), the real listeners.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.ts';
import { emittedEventId, isDerivedId } from '../../../src/events/ids.ts';
import { silentLogger } from '../../../src/log.ts';
import { Dispatcher } from '../../../src/pipeline/dispatcher.ts';
import { Intake, type Delivery } from '../../../src/pipeline/intake.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { Router } from '../../../src/pipeline/router.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import type { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { testConfig } from '../../helpers/config.ts';
import { openTestStore, itSqliteOnly } from '../../helpers/store.ts';

const stores: StoreApi[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const PREFIX = 'org.fedoraproject.prod';
const bodhi = { repo: 'f26-updates', success: true, agent: 'bodhi', ctype: 'rpm' };

/** The store under test (RELENGD_TEST_STORE). */
async function setup(extra = 'publishers:\n  relengd.release.approve: [releng]\n') {
  const store = await openTestStore();
  stores.push(store);
  const config = testConfig('/srv/relengd', extra);
  const clock = fixedClock('2026-11-26T12:00:00Z');
  const logger = silentLogger();
  const api = store;
  const intake = new Intake({ store: api, config, clock, logger });
  const dispatcher = new Dispatcher({ store: api, router: new Router(allListeners), config, clock, logger });
  return { store, intake, dispatcher };
}

function delivery(topic: string, data: unknown, options: { id?: string; publisher?: string } = {}): Delivery {
  return { transport: 'test', raw: Buffer.from(JSON.stringify(data) ?? ''), headers: {}, decoded: { topic: `${PREFIX}.${topic}`, data, id: options.id, publisher: options.publisher } };
}

describe('derived ids cannot be claimed from outside', () => {
  it('refuses an inbound message whose id is one relengd would derive, and the Bodhi message still composes', async () => {
    const { store, intake, dispatcher } = await setup();
    const bodhiId = '2017-6f0d1d5e-8b4a-4c1e-9d8e-5a1f0c2b7e01';
    const squatted = emittedEventId(bodhiId, 'updates-mashed', 'f26-atomic-host-x86_64');
    expect(isDerivedId(squatted)).toBe(true);
    const [squat] = await intake.accept([delivery('some.unknown.topic', { hello: 1 }, { id: squatted })]);
    expect(squat).toMatchObject({ kind: 'rejected', error: { reason: 'reserved-id' } });

    await intake.accept([delivery('bodhi.compose.complete', bodhi, { id: bodhiId })]);
    await dispatcher.dispatchBatch();
    await dispatcher.dispatchBatch();
    const requests = await store.events.query({ topic: 'relengd.ostree.compose.requested' });
    expect(requests.map((e) => e.envelope.data)).toMatchObject([{ stream: expect.any(String) }, { stream: expect.any(String) }]);
    expect(await store.jobs.list({ kind: 'compose' })).toHaveLength(2);
  });
});

describe("relengd's own events from outside", () => {
  it('are dropped and counted, never stored or dispatched', async () => {
    const { store, intake } = await setup();
    const [outcome] = await intake.accept([delivery('relengd.compose.finished', { composeId: 'x' })]);
    expect(outcome).toMatchObject({ kind: 'dropped' });
    expect(await store.events.count()).toBe(0);
    expect(intake.droppedOwnTopics().get('test')).toBe(1);
  });
});

describe('commands', () => {
  const approve = { group: 'f26-atomic-host', version: '26.20170705.0' };

  it('are refused from a sender the configuration does not allow, with the reason kept', async () => {
    const { store, intake } = await setup();
    for (const publisher of [undefined, 'guest']) {
      const [outcome] = await intake.accept([delivery('relengd.release.approve', approve, { publisher })]);
      expect(outcome).toMatchObject({ kind: 'rejected', error: { reason: 'unauthorized' } });
    }
    expect(await store.events.count()).toBe(0);
    expect((await store.rejected.list()).map((r) => r.reason)).toEqual(['unauthorized', 'unauthorized']);
  });

  it('are authorised before the duplicate check: an outsider cannot learn whether an id exists', async () => {
    const { intake } = await setup();
    expect((await intake.accept([delivery('relengd.release.approve', approve, { id: 'a-1', publisher: 'releng' })]))[0]).toMatchObject({ kind: 'committed' });
    expect((await intake.accept([delivery('relengd.release.approve', approve, { id: 'a-1', publisher: 'guest' })]))[0]).toMatchObject({ kind: 'rejected' });
    expect((await intake.accept([delivery('relengd.release.approve', approve, { id: 'a-1', publisher: 'releng' })]))[0]).toMatchObject({ kind: 'duplicate' });
  });

  it('refuse values that would reach a command line unchecked', async () => {
    const { intake } = await setup();
    const [outcome] = await intake.accept([delivery('relengd.release.approve', { ...approve, version: '26.1\n--unified-core' }, { publisher: 'releng' })]);
    expect(outcome).toMatchObject({ kind: 'rejected', error: { reason: 'schema', field: 'version' } });
  });
});

describe('one bad message in a batch', () => {
  it('is rejected alone; its neighbours are stored', async () => {
    const { store, intake } = await setup();
    // A value JSON.stringify cannot store (nested past the stack) that skipped the codecs' checks.
    let deep: unknown = {};
    for (let i = 0; i < 20_000; i++) deep = { d: deep };
    const bad: Delivery = { transport: 'test', raw: Buffer.from('{}'), headers: {}, decoded: { topic: `${PREFIX}.some.topic`, data: deep, id: 'deep-1' } };
    const outcomes = await intake.accept([delivery('bodhi.compose.complete', bodhi, { id: 'ok-1' }), bad, delivery('bodhi.compose.complete', bodhi, { id: 'ok-2' })]);
    expect(outcomes.map((o) => o.kind)).toEqual(['committed', 'rejected', 'committed']);
    expect(outcomes[1]).toMatchObject({ error: { reason: 'unprocessable' } });
    expect((await store.events.query({})).map((e) => e.envelope.id).sort()).toEqual(['ok-1', 'ok-2']);
  });
});

describe('an unreadable stored row', () => {
  // SQLite only: corrupts a stored row with raw SQL on the file.
  itSqliteOnly('is parked as failed with its reason, and reading and dispatching go on', async () => {
    const { store, intake, dispatcher } = await setup();
    await intake.accept([delivery('bodhi.compose.complete', bodhi, { id: 'broken-1' }), delivery('bodhi.compose.complete', bodhi, { id: 'fine-1' })]);
    (store as SqliteStore).sync.db.prepare(`UPDATE events SET data = 'hello' WHERE id = 'broken-1'`).run();
    await expect(store.events.query({})).resolves.toHaveLength(2);
    const stats = await dispatcher.dispatchBatch();
    expect(stats).toMatchObject({ dispatched: 1, failed: 1 });
    const broken = (await store.events.get('broken-1'))!;
    expect(broken.dispatchState).toBe('failed');
    expect(broken.dispatchError).toContain('cannot be read');
    expect((await store.events.get('fine-1'))!.dispatchState).toBe('done');
  });
});
