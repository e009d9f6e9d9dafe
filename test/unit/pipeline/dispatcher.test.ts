import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.ts';
import type { Topic } from '../../../src/events/catalogue.ts';
import { silentLogger } from '../../../src/log.ts';
import { Dispatcher } from '../../../src/pipeline/dispatcher.ts';
import { Intake } from '../../../src/pipeline/intake.ts';
import { nothing, type Listener } from '../../../src/pipeline/listener.ts';
import { updatesMashed } from '../../../src/pipeline/listeners/updates-mashed.ts';
import { Router } from '../../../src/pipeline/router.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import type { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { testConfig } from '../../helpers/config.ts';
import { openTestStore, itSqliteOnly } from '../../helpers/store.ts';

const stores: StoreApi[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** The store under test (RELENGD_TEST_STORE): the dispatcher and intake only see StoreApi. */
async function setup(listeners: Listener[]) {
  const store = await openTestStore();
  stores.push(store);
  const api = store;
  const config = testConfig('/srv/relengd');
  const clock = fixedClock('2026-11-26T12:00:00Z');
  const logger = silentLogger();
  const dispatcher = new Dispatcher({ store: api, router: new Router(listeners), config, clock, logger });
  const intake = new Intake({ store: api, config, clock, logger });
  const send = (id: string, body: unknown = { repo: 'f26-updates', success: true }) =>
    intake.accept([{ transport: 'test', raw: Buffer.from(JSON.stringify(body)), headers: {}, decoded: { topic: 'org.fedoraproject.prod.bodhi.compose.complete', id, data: body } }]);
  return { store, api, dispatcher, send };
}

/** Records the compose requests it sees: relengd's own events must reach its own listeners. */
function recorder(seen: string[]): Listener {
  return {
    name: 'recorder',
    topics: ['relengd.ostree.compose.requested'],
    handle: (event) => (seen.push(event.id), { ...nothing(), patches: [{ namespace: 'seen', key: event.id, value: event.subject }] }),
  };
}

describe('dispatcher', () => {
  it('delivers relengd\'s own emitted events to its own listeners, from the store', async () => {
    const seen: string[] = [];
    const { store, dispatcher, send } = await setup([updatesMashed, recorder(seen)]);
    await send('m1');
    const stats = await dispatcher.drain();
    expect(stats).toMatchObject({ dispatched: 3, emitted: 2, failed: 0 });
    expect(seen).toHaveLength(2);
    expect((await store.state.list('seen')).map((s) => s.value).sort()).toEqual(['fedora/26/aarch64/updates/atomic-host', 'fedora/26/x86_64/updates/atomic-host']);
    expect(await store.outbox.countPending()).toBe(2);
  });

  it('finds a whole chain by its correlation id: the first message and everything derived from it', async () => {
    const { store, dispatcher, send } = await setup([updatesMashed]);
    await send('m1');
    await send('m2');
    await dispatcher.drain();
    const chain = (await store.events.query({ correlationId: 'm1', order: 'asc' })).map((e) => [e.envelope.topic, e.envelope.correlationid]);
    expect(chain).toEqual([
      ['bodhi.compose.complete', 'm1'],
      ['relengd.ostree.compose.requested', 'm1'],
      ['relengd.ostree.compose.requested', 'm1'],
    ]);
  });

  it('derives nothing new when an event is processed again (deterministic ids)', async () => {
    const { store, dispatcher, send } = await setup([updatesMashed]);
    await send('m1');
    await dispatcher.drain();
    const before = await store.events.count();
    await store.events.resetDispatch((await store.events.query({})).map((e) => e.seq));
    const again = await dispatcher.drain();
    expect(again).toMatchObject({ emitted: 0, jobs: 0 });
    expect(await store.events.count()).toBe(before);
  });

  it('parks an event whose listener throws on the first failure (listeners are pure: a retry fails the same way), and goes on with the rest', async () => {
    const calls: string[] = [];
    const broken: Listener = {
      name: 'broken',
      topics: ['bodhi.compose.complete'],
      handle: (event) => {
        calls.push(event.id);
        if (event.id === 'poison') throw new Error('listener bug');
        return nothing();
      },
    };
    const { store, dispatcher, send } = await setup([broken, updatesMashed]);
    await send('poison');
    await send('fine');
    const stats = await dispatcher.drain();
    expect(stats.failed).toBe(1);
    expect(calls).toEqual(['poison', 'fine']);
    const poison = await store.events.get('poison');
    expect(poison).toMatchObject({ dispatchState: 'failed', dispatchAttempts: 1, dispatchError: 'listener bug' });
    // Nothing the failing dispatch decided was kept: the savepoint undid updates-mashed's emits for it.
    expect((await store.events.query({ topic: 'relengd.ostree.compose.requested' })).map((e) => e.envelope.causationid)).toEqual(['fine', 'fine']);
    expect((await store.events.get('fine'))?.dispatchState).toBe('done');
    // A later drain does not take the parked event again; replay does, after a fix.
    await dispatcher.drain();
    expect(calls).toEqual(['poison', 'fine']);
  });

  // SQLite only: breaks the store with raw SQL on the file.
  itSqliteOnly('leaves the whole batch pending, parking nothing, when the store fails, and dispatches it at the next drain', async () => {
    const reader: Listener = { name: 'reader', topics: ['bodhi.compose.complete'], handle: (event, { state }) => (state.get('seen', event.id), nothing()) };
    const { store, dispatcher, send } = await setup([reader]);
    await send('m1');
    await send('m2');
    // A real SQLite failure (the table is gone), as a locked or full database would raise.
    (store as SqliteStore).sync.db.exec('ALTER TABLE state RENAME TO state_away');
    expect(await dispatcher.drain()).toMatchObject({ dispatched: 0, failed: 0 });
    for (const id of ['m1', 'm2']) expect(await store.events.get(id)).toMatchObject({ dispatchState: 'pending', dispatchAttempts: 0 });

    (store as SqliteStore).sync.db.exec('ALTER TABLE state_away RENAME TO state');
    expect(await dispatcher.drain()).toMatchObject({ dispatched: 2, failed: 0 });
    for (const id of ['m1', 'm2']) expect((await store.events.get(id))?.dispatchState).toBe('done');
  });

  it('refuses an event a listener emits on a topic not in the catalogue, parking the cause with the reason', async () => {
    const typo: Listener = {
      name: 'typo',
      topics: ['bodhi.compose.complete'],
      // A listener written without the types: Emit.topic is a catalogue Topic at compile time.
      handle: () => ({ ...nothing(), emit: [{ topic: 'relengd.ostree.compose.requestd' as Topic, key: 'x', data: {} }] }),
    };
    const { store, dispatcher, send } = await setup([typo]);
    await send('m1');
    await dispatcher.drain();
    expect(await store.events.get('m1')).toMatchObject({ dispatchState: 'failed', dispatchError: 'typo emitted relengd.ostree.compose.requestd, which is not in the event catalogue (src/events/catalogue.ts)' });
    expect(await store.events.count()).toBe(1);
    expect(await store.outbox.countPending()).toBe(0);
  });

  it('refuses an emitted event that breaks its own schema (a listener bug), keeping the cause for replay', async () => {
    const sloppy: Listener = {
      name: 'sloppy',
      topics: ['bodhi.compose.complete'],
      handle: () => ({ ...nothing(), emit: [{ topic: 'relengd.ostree.compose.requested', key: 'x', data: { stream: 'x' } }] }),
    };
    const { store, dispatcher, send } = await setup([sloppy]);
    await send('m1');
    await dispatcher.drain();
    expect(await store.events.get('m1')).toMatchObject({ dispatchState: 'failed' });
    expect((await store.events.get('m1'))?.dispatchError).toContain('ref');
  });

  it('passes unknown topics by: kept, dispatched to no listener', async () => {
    const seen: string[] = [];
    const { api, store, dispatcher } = await setup([recorder(seen)]);
    const intake = new Intake({ store: api, config: testConfig('/srv'), clock: fixedClock('2026-11-26T00:00:00Z'), logger: silentLogger() });
    await intake.accept([{ transport: 'test', raw: Buffer.from('{}'), headers: {}, decoded: { topic: 'org.fedoraproject.prod.fas.user.create', id: 'u1', data: {} } }]);
    await dispatcher.drain();
    expect(await store.events.get('u1')).toMatchObject({ dispatchState: 'done', envelope: { known: false, topic: 'fas.user.create' } });
    expect(seen).toEqual([]);
  });
});

describe('listener state within one batch', () => {
  /** Counts Bodhi messages in state. */
  const counter = (): Listener => ({
    name: 'counter',
    topics: ['bodhi.compose.complete'],
    handle: (_event, { state }) => {
      const count = (state.get('count', 'all') as number | undefined) ?? 0;
      return { ...nothing(), patches: [{ namespace: 'count', key: 'all', value: count + 1 }] };
    },
  });
  const failer = (failOn: string[]): Listener => ({
    name: 'failer',
    topics: ['bodhi.compose.complete'],
    handle: (event, { state }) => {
      // Reads the count the counter just wrote (not committed yet), then fails: the read must not outlive the undo.
      if (failOn.includes(event.id) && state.get('count', 'all') !== undefined) throw new Error(`refusing ${event.id}`);
      return nothing();
    },
  });

  it('each event reads what the events before it wrote, and nothing of an event whose listener failed', async () => {
    const { store, dispatcher, send } = await setup([counter(), failer(['m2', 'm4'])]);
    for (const id of ['m1', 'm2', 'm3', 'm4', 'm5']) await send(id);
    // One batch: m2's and m4's counts are undone with their savepoints; the others build on what is stored.
    expect(await dispatcher.dispatchBatch()).toMatchObject({ dispatched: 3, failed: 2 });
    expect(await store.state.get('count', 'all')).toBe(3);
  });

  it('a listener reads what an earlier listener of the same event wrote, and a list sees what was put earlier in the batch', async () => {
    const writer: Listener = { name: 'writer', topics: ['bodhi.compose.complete'], handle: (event) => ({ ...nothing(), patches: [{ namespace: 'seen', key: event.id, value: { by: 'writer' } }] }) };
    const reader: Listener = {
      name: 'reader',
      topics: ['bodhi.compose.complete'],
      handle: (event, { state }) => ({ ...nothing(), patches: [{ namespace: 'copy', key: event.id, value: { read: state.get('seen', event.id) ?? null, listed: state.list('seen').map((e) => e.key) } }] }),
    };
    const { store, dispatcher, send } = await setup([writer, reader]);
    for (const id of ['m1', 'm2']) await send(id);
    expect(await dispatcher.dispatchBatch()).toMatchObject({ dispatched: 2, failed: 0 });
    expect(await store.state.get('copy', 'm1')).toEqual({ read: { by: 'writer' }, listed: ['m1'] });
    expect(await store.state.get('copy', 'm2')).toEqual({ read: { by: 'writer' }, listed: ['m1', 'm2'] });
  });

  it('runs a listener again after a read of state not read yet, applying its decision once', async () => {
    let calls = 0;
    const reader: Listener = {
      name: 'reader',
      topics: ['bodhi.compose.complete'],
      handle: (event, { state }) => {
        calls++;
        const seen = ['a', 'b', 'c'].map((key) => state.get('seen', `${event.id}-${key}`));
        return {
          emit: [],
          jobs: [{ kind: 'noop', key: 'x', queueKey: 'q', spec: { seen } }],
          patches: [{ namespace: 'count', key: event.id, value: ((state.get('count', event.id) as number | undefined) ?? 0) + 1 }],
        };
      },
    };
    const { store, dispatcher, send } = await setup([reader]);
    await send('m1');
    const stats = await dispatcher.dispatchBatch();
    expect(calls).toBeGreaterThan(1);
    expect(stats).toMatchObject({ dispatched: 1, jobs: 1, failed: 0 });
    expect(await store.jobs.list()).toHaveLength(1);
    expect(await store.state.get('count', 'm1')).toBe(1);
  });
});
