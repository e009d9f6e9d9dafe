/**
 * Time as an event source, on a fake clock: the calendar over a real store, the real intake and the
 * real listeners. A slot fires once; restarts never fire a slot twice; an outage fires one catch-up.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCalendar, MAX_TIMER_MS, RETRY_MS, type CalendarSource } from '../../../src/bus/calendar/index.ts';
import { parseConfig, type Config } from '../../../src/config/index.ts';
import { scheduleFiringId } from '../../../src/events/ids.ts';
import type { ScheduleFired } from '../../../src/events/relengd/schedule.ts';
import { silentLogger } from '../../../src/log.ts';
import { Dispatcher } from '../../../src/pipeline/dispatcher.ts';
import { Intake } from '../../../src/pipeline/intake.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { replayStored } from '../../../src/pipeline/replay.ts';
import { Router } from '../../../src/pipeline/router.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { fakeTime } from '../../helpers/fake-time.ts';
import { scheduledConfigYaml } from '../../helpers/schedule.ts';
import { tempDir } from '../../helpers/tmp.ts';

const open: Array<{ stop(): Promise<void> } | Store> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await (o instanceof Store ? o.close() : o.stop());
});

/** relengd's pieces on a fake clock; `restart` stops the calendar and starts a new one over the same store file. */
function relengdAt(startAt: string, schedule: string) {
  const dir = tempDir();
  const config: Config = parseConfig(scheduledConfigYaml(dir, schedule), {});
  const time = fakeTime(startAt);
  const logger = silentLogger();
  const api = new SqliteStore(Store.open(join(dir, 'relengd.db')));
  const store = api.sync;
  open.push(store);
  const intake = new Intake({ store: api, config, clock: time.clock, logger });
  const dispatcher = new Dispatcher({ store: api, router: new Router(allListeners), config, clock: time.clock, logger });
  let calendar: CalendarSource | null = null;

  async function start(): Promise<void> {
    calendar = createCalendar({ config, store: api, clock: time.clock, logger, wakeups: time.timers });
    open.push(calendar);
    await calendar.start(async (batch) => intake.accept(batch));
    await dispatcher.drain();
  }
  return {
    config,
    api,
    store,
    time,
    dispatcher,
    start,
    async stop(): Promise<void> {
      await calendar?.stop();
    },
    /** The calendar is down while the clock moves to `at`, then a new one starts. */
    async restartAt(at: string): Promise<void> {
      await calendar?.stop();
      time.clock.set(at);
      await start();
    },
    async advanceTo(at: string): Promise<void> {
      await time.advanceTo(at, async () => {
        await calendar?.idle();
        await dispatcher.drain();
      });
    },
    firings: () => store.events.query({ topic: 'relengd.schedule.fired', order: 'asc' }).map((e) => e.envelope.data as ScheduleFired),
    slots(): string[] {
      return this.firings().map((f) => f.slot);
    },
  };
}

const DAILY = '{ cron: "0 5 * * *" }';

describe('a schedule', () => {
  it('fires a slot once, for the whole group, and waits with one timer for the next', async () => {
    const r = relengdAt('2026-11-26T04:00:00Z', DAILY);
    await r.start();
    expect(r.slots()).toEqual([]);
    expect(r.time.pending()).toEqual([3_600_000]);

    await r.advanceTo('2026-11-26T05:00:00Z');
    expect(r.firings()).toEqual([
      {
        schedule: 'f26-atomic-host:compose:UTC:0 5 * * *',
        group: 'f26-atomic-host',
        streams: ['f26-atomic-host-x86_64', 'f26-atomic-host-aarch64'],
        cron: '0 5 * * *',
        timezone: 'UTC',
        action: 'compose',
        slot: '2026-11-26T05:00:00.000Z',
        missed: false,
      },
    ]);
    expect(r.time.pending()).toEqual([24 * 3_600_000]);

    await r.advanceTo('2026-11-26T23:00:00Z');
    expect(r.slots()).toEqual(['2026-11-26T05:00:00.000Z']);
  });

  it('is read in its time zone', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z', '{ cron: "0 5 * * *", timezone: Europe/Prague }');
    await r.start();
    await r.advanceTo('2026-11-27T00:00:00Z');
    expect(r.slots()).toEqual(['2026-11-26T04:00:00.000Z']);
  });

  it('that never fired has missed nothing: it starts with its next slot', async () => {
    const r = relengdAt('2026-11-26T12:00:00Z', DAILY);
    await r.start();
    expect(r.slots()).toEqual([]);
    await r.advanceTo('2026-11-27T05:00:00Z');
    expect(r.slots()).toEqual(['2026-11-27T05:00:00.000Z']);
  });

  it('waits for a slot further away than setTimeout allows with one capped timer at a time', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z', '{ cron: "0 0 1 1 *" }');
    await r.start();
    expect(r.time.pending()).toEqual([MAX_TIMER_MS]);
    await r.advanceTo('2026-12-31T23:59:59Z');
    expect(r.slots()).toEqual([]);
    expect(r.time.pending()).toHaveLength(1);
    await r.advanceTo('2027-01-01T00:00:00Z');
    expect(r.slots()).toEqual(['2027-01-01T00:00:00.000Z']);
  });
});

describe('the real timers', () => {
  it('do not keep the process alive: a daemon waiting for tomorrow\'s slot still exits when all else is done', async () => {
    const module = new URL('../../../src/bus/calendar/wakeups.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--input-type=module', '-e', `import { realWakeups } from ${JSON.stringify(module)}; realWakeups.after(86400000, () => process.exit(3));`], { stdio: 'ignore' });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
  });
});

describe('restarts', () => {
  it('never fire a slot twice: not right after it fired, nor after a later slot', async () => {
    const r = relengdAt('2026-11-26T04:00:00Z', DAILY);
    await r.start();
    await r.advanceTo('2026-11-26T05:00:00Z');
    // Down and up again in the same second, then later the same day: the slot is in the store.
    await r.restartAt('2026-11-26T05:00:00Z');
    await r.restartAt('2026-11-26T05:30:00Z');
    expect(r.slots()).toEqual(['2026-11-26T05:00:00.000Z']);
    await r.advanceTo('2026-11-27T05:00:00Z');
    await r.restartAt('2026-11-27T05:00:01Z');
    expect(r.slots()).toEqual(['2026-11-26T05:00:00.000Z', '2026-11-27T05:00:00.000Z']);
  });

  it('after a 3-day outage fire one catch-up (the latest missed slot), not three', async () => {
    const r = relengdAt('2026-11-26T04:00:00Z', DAILY);
    await r.start();
    await r.advanceTo('2026-11-26T05:00:00Z');
    await r.restartAt('2026-11-29T12:00:00Z');
    expect(r.firings().map((f) => [f.slot, f.missed])).toEqual([
      ['2026-11-26T05:00:00.000Z', false],
      ['2026-11-29T05:00:00.000Z', true],
    ]);
    // The catch-up came at start; the schedule goes on as before.
    await r.restartAt('2026-11-29T13:00:00Z');
    await r.advanceTo('2026-11-30T05:00:00Z');
    expect(r.slots()).toEqual(['2026-11-26T05:00:00.000Z', '2026-11-29T05:00:00.000Z', '2026-11-30T05:00:00.000Z']);
  });

  it('with catchUp none fire nothing for the missed slots', async () => {
    const r = relengdAt('2026-11-26T04:00:00Z', '{ cron: "0 5 * * *", catchUp: none }');
    await r.start();
    await r.advanceTo('2026-11-26T05:00:00Z');
    await r.restartAt('2026-11-29T12:00:00Z');
    expect(r.slots()).toEqual(['2026-11-26T05:00:00.000Z']);
    await r.advanceTo('2026-11-30T05:00:00Z');
    expect(r.slots()).toEqual(['2026-11-26T05:00:00.000Z', '2026-11-30T05:00:00.000Z']);
  });
});

describe('a firing', () => {
  it('with action compose asks for a compose of every stream of the group, at one version', async () => {
    const r = relengdAt('2026-11-26T04:00:00Z', DAILY);
    await r.start();
    await r.advanceTo('2026-11-26T05:00:00Z');
    const requests = r.store.events.query({ topic: 'relengd.ostree.compose.requested', order: 'asc' }).map((e) => e.envelope.data as { stream: string; version: string; causes: Array<{ topic: string }> });
    expect(requests.map((q) => [q.stream, q.version, q.causes[0]!.topic])).toEqual([
      ['f26-atomic-host-x86_64', '26.20261126.0', 'relengd.schedule.fired'],
      ['f26-atomic-host-aarch64', '26.20261126.0', 'relengd.schedule.fired'],
    ]);
    expect(r.store.jobs.list({ kind: 'compose' })).toHaveLength(2);
  });

  it('replayed re-derives nothing new', async () => {
    const r = relengdAt('2026-11-26T04:00:00Z', DAILY);
    await r.start();
    await r.advanceTo('2026-11-26T05:00:00Z');
    const before = r.store.events.count();
    const report = await replayStored(r.api, r.dispatcher, { topic: 'relengd.schedule.fired' }, { dryRun: false });
    expect(report).toMatchObject({ selected: 1, emitted: [], enqueued: [], requeued: [] });
    expect(r.store.events.count()).toBe(before);
  });
});

describe('firings from outside', () => {
  const fired = (id: string) => ({
    transport: 'http',
    raw: Buffer.from('{}'),
    headers: {},
    decoded: {
      topic: 'org.fedoraproject.prod.relengd.schedule.fired',
      id,
      data: { schedule: 'f26-atomic-host:compose:UTC:0 5 * * *', group: 'f26-atomic-host', streams: ['f26-atomic-host-x86_64'], cron: '0 5 * * *', timezone: 'UTC', action: 'compose' as const, slot: '2026-11-27T05:00:00.000Z', missed: false },
    },
  });

  it('are dropped like every own topic, and cannot pre-empt a slot', async () => {
    const r = relengdAt('2026-11-27T04:00:00Z', DAILY);
    const intake = new Intake({ store: r.api, config: r.config, clock: r.time.clock, logger: silentLogger() });
    const forged = scheduleFiringId('f26-atomic-host:compose:UTC:0 5 * * *', '2026-11-27T05:00:00.000Z');
    expect(await intake.accept([fired('forged-1'), fired(forged)])).toMatchObject([{ kind: 'dropped' }, { kind: 'dropped' }]);
    expect(await intake.accept([{ ...fired(forged), decoded: { ...fired(forged).decoded, topic: 'org.fedoraproject.prod.bodhi.some.thing' } }])).toMatchObject([{ kind: 'rejected', error: { reason: 'reserved-id' } }]);
    expect(r.store.events.count()).toBe(0);

    await r.start();
    await r.advanceTo('2026-11-27T05:00:00Z');
    expect(r.slots()).toEqual(['2026-11-27T05:00:00.000Z']);
    expect(r.store.events.query({ topic: 'relengd.ostree.compose.requested' })).toHaveLength(2);
  });
});

describe('a firing the store cannot take', () => {
  it('is tried again later, and then fires once', async () => {
    const r = relengdAt('2026-11-26T04:00:00Z', DAILY);
    const intake = new Intake({ store: r.api, config: r.config, clock: r.time.clock, logger: silentLogger() });
    let refusals = 1;
    const calendar = createCalendar({ config: r.config, store: r.api, clock: r.time.clock, logger: silentLogger(), wakeups: r.time.timers });
    open.push(calendar);
    await calendar.start(async (batch) => (refusals-- > 0 ? batch.map(() => ({ kind: 'retry-later' as const, error: new Error('database is locked') })) : intake.accept(batch)));
    await r.time.advanceTo('2026-11-26T05:00:00Z', () => calendar.idle());
    expect(r.slots()).toEqual([]);
    expect(r.time.pending()).toEqual([RETRY_MS]);
    await r.time.advanceTo('2026-11-26T05:00:30Z', () => calendar.idle());
    expect(r.firings().map((f) => [f.slot, f.missed])).toEqual([['2026-11-26T05:00:00.000Z', false]]);
    expect(r.time.pending()).toEqual([24 * 3_600_000 - 30_000]);
  });
});
