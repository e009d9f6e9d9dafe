/**
 * Silence detection (`watch`) on a fake clock: the silence watch over a real store and the real
 * intake. A topic quiet past its quietHours is reported once (event, warning, metric); a message
 * starts the watch over; a restart reports nothing twice; nobody outside can send the report.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSilenceWatch, type SilenceWatch } from '../../../src/bus/calendar/index.ts';
import { parseConfig, type Config } from '../../../src/config/index.ts';
import { busSilentId } from '../../../src/events/ids.ts';
import type { BusSilent } from '../../../src/events/relengd/bus.ts';
import { Intake, type Delivery } from '../../../src/pipeline/intake.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { authorize } from '../../../src/trust.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { fakeTime } from '../../helpers/fake-time.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { tempDir } from '../../helpers/tmp.ts';

const open: Array<{ stop(): Promise<void> } | Store> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await (o instanceof Store ? o.close() : o.stop());
});

const PREFIX = 'org.fedoraproject.prod';
const WATCH = 'watch: [{ topic: bodhi.compose.complete, quietHours: 6 }, { topic: pungi.compose.status.change, quietHours: 24 }]';
const HOUR = 3_600_000;

/** relengd's intake and silence watch on a fake clock; `restartAt` starts a new watch (a new process) over the same store. */
function relengdAt(startAt: string) {
  const dir = tempDir();
  const config: Config = parseConfig(testConfigYaml(dir, { extra: WATCH }), {});
  const time = fakeTime(startAt);
  const log = captureLogger();
  const api = new SqliteStore(Store.open(join(dir, 'relengd.db')));
  const store = api.sync;
  open.push(store);
  const intake = new Intake({ store: api, config, clock: time.clock, logger: log.logger });
  let watch: SilenceWatch | null = null;

  async function start(): Promise<void> {
    watch = createSilenceWatch({ config, store: api, clock: time.clock, logger: log.logger, wakeups: time.timers });
    open.push(watch);
    await watch.start(async (batch) => intake.accept(batch));
  }
  return {
    store,
    intake,
    time,
    start,
    status: () => watch!.status(),
    async restartAt(at: string): Promise<void> {
      await watch?.stop();
      time.clock.set(at);
      await start();
    },
    advanceTo: (at: string) => time.advanceTo(at, async () => watch?.idle()),
    /** A Bodhi push arrives now. */
    async mash(id: string) {
      const data = { repo: 'f26-updates', success: true, agent: 'bodhi', ctype: 'rpm' };
      return await intake.accept([{ transport: 'test', raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: { topic: `${PREFIX}.bodhi.compose.complete`, id, data } }]);
    },
    reports: () => store.events.query({ topic: 'relengd.bus.silent', order: 'asc' }).map((e) => ({ id: e.envelope.id, ...(e.envelope.data as BusSilent) })),
    warnings: () => log.records.filter((r) => r.level === 40 && r.component === 'silence-watch').map((r) => r.topic),
  };
}

describe('a watched topic', () => {
  it('quiet past its quietHours is reported once: one event, one warning, the metric set', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z');
    await r.start();
    await r.mash('push-1'); // at 00:00
    await r.advanceTo('2026-11-26T05:59:00Z');
    expect(r.reports()).toEqual([]);
    expect((await r.status()).find((t) => t.topic === 'bodhi.compose.complete')).toMatchObject({ silent: false, ageSeconds: 5 * 3600 + 59 * 60 });

    await r.advanceTo('2026-11-26T06:00:00Z');
    expect(r.reports()).toEqual([{ id: busSilentId('bodhi.compose.complete', '2026-11-26T00:00:00.000Z'), topic: 'bodhi.compose.complete', lastSeen: '2026-11-26T00:00:00.000Z', quietHours: 6 }]);
    expect(r.warnings()).toEqual(['bodhi.compose.complete']);
    expect((await r.status()).find((t) => t.topic === 'bodhi.compose.complete')).toMatchObject({ silent: true, lastSeen: '2026-11-26T00:00:00.000Z', ageSeconds: 6 * 3600 });

    // Still quiet days later: checked again, reported no more.
    await r.advanceTo('2026-11-28T00:00:00Z');
    expect(r.reports().filter((e) => e.topic === 'bodhi.compose.complete')).toHaveLength(1);
    expect(r.warnings().filter((t) => t === 'bodhi.compose.complete')).toHaveLength(1);
  });

  it('starts over when a message arrives: silent no more, and the next silence is reported again', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z');
    await r.start();
    await r.mash('push-1');
    await r.advanceTo('2026-11-26T07:00:00Z');
    expect(r.reports()).toHaveLength(1);

    await r.mash('push-2'); // at 07:00
    expect((await r.status()).find((t) => t.topic === 'bodhi.compose.complete')).toMatchObject({ silent: false, ageSeconds: 0 });
    await r.advanceTo('2026-11-26T12:59:59Z');
    expect(r.reports()).toHaveLength(1);
    await r.advanceTo('2026-11-26T13:00:00Z');
    expect(r.reports().map((e) => e.lastSeen)).toEqual(['2026-11-26T00:00:00.000Z', '2026-11-26T07:00:00.000Z']);
    expect(r.warnings()).toEqual(['bodhi.compose.complete', 'bodhi.compose.complete']);
  });

  it('is not reported twice across a restart, and a silence that began while relengd was down is reported on start', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z');
    await r.start();
    await r.mash('push-1');
    await r.advanceTo('2026-11-26T06:30:00Z');
    expect(r.reports()).toHaveLength(1);

    await r.restartAt('2026-11-26T08:00:00Z');
    await r.advanceTo('2026-11-27T00:00:00Z');
    expect(r.reports().filter((e) => e.topic === 'bodhi.compose.complete')).toHaveLength(1);
    expect(r.warnings().filter((t) => t === 'bodhi.compose.complete')).toHaveLength(1);

    // A push, then relengd is down past the next silence: reported once, at start.
    await r.mash('push-2'); // at 2026-11-27T00:00
    await r.restartAt('2026-11-27T09:00:00Z');
    expect(r.reports().filter((e) => e.topic === 'bodhi.compose.complete').map((e) => e.lastSeen)).toEqual(['2026-11-26T00:00:00.000Z', '2026-11-27T00:00:00.000Z']);
    await r.restartAt('2026-11-27T10:00:00Z');
    expect(r.reports().filter((e) => e.topic === 'bodhi.compose.complete')).toHaveLength(2);
  });

  it('that never had a message is reported quietHours after relengd started, once', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z');
    await r.start();
    await r.mash('push-1');
    await r.advanceTo('2026-11-26T23:59:00Z');
    expect(r.reports().filter((e) => e.topic === 'pungi.compose.status.change')).toEqual([]);
    await r.advanceTo('2026-11-27T00:00:00Z');
    expect(r.reports().filter((e) => e.topic === 'pungi.compose.status.change')).toMatchObject([{ lastSeen: null, quietHours: 24 }]);
    expect((await r.status()).find((t) => t.topic === 'pungi.compose.status.change')).toMatchObject({ silent: true, ageSeconds: null });
    await r.restartAt('2026-11-28T06:00:00Z');
    await r.advanceTo('2026-11-30T00:00:00Z');
    expect(r.reports().filter((e) => e.topic === 'pungi.compose.status.change')).toHaveLength(1);
  });

  it('waits with one timer, for the earliest moment a topic can go silent', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z');
    await r.start();
    // Nothing seen yet: bodhi at start + 6 h comes first.
    expect(r.time.pending()).toEqual([6 * HOUR]);
  });
});

describe('relengd.bus.silent from outside', () => {
  it('is dropped when a transport delivers it, and only the watch may send it', async () => {
    const r = relengdAt('2026-11-26T00:00:00Z');
    const forged: Delivery = {
      transport: 'amqp',
      raw: Buffer.from('{}'),
      headers: {},
      decoded: { topic: `${PREFIX}.relengd.bus.silent`, id: 'forged-1', data: { topic: 'bodhi.compose.complete', lastSeen: null, quietHours: 1 } },
    };
    expect(await r.intake.accept([forged])).toMatchObject([{ kind: 'dropped' }]);
    expect(await r.intake.accept([{ ...forged, source: 'replayed' }])).toMatchObject([{ kind: 'dropped' }]);
    expect(r.reports()).toEqual([]);
    expect(authorize('relengd.bus.silent', { identity: 'releng', source: 'operator' }, {})).toMatchObject({ allowed: false, drop: true });
    expect(authorize('relengd.bus.silent', { identity: undefined, source: 'calendar' }, {})).toEqual({ allowed: true });
  });
});

describe('watch in the configuration', () => {
  it('refuses a prefixed topic, a topic watched twice and a quietHours that is not positive', () => {
    const yaml = (watch: string) => testConfigYaml('/srv/relengd', { extra: `watch: ${watch}` });
    expect(() => parseConfig(yaml('[{ topic: org.fedoraproject.prod.bodhi.compose.complete, quietHours: 6 }]'), {})).toThrow(/watch\.0\.topic|watch\[0\]\.topic/);
    expect(() => parseConfig(yaml('[{ topic: buildsys.tag, quietHours: 6 }, { topic: buildsys.tag, quietHours: 2 }]'), {})).toThrow(/watched already/);
    expect(() => parseConfig(yaml('[{ topic: buildsys.tag, quietHours: 0 }]'), {})).toThrow(/quietHours/);
    expect(parseConfig(yaml('[{ topic: buildsys.tag, quietHours: 0.5 }]'), {}).watch).toEqual([{ topic: 'buildsys.tag', quietHours: 0.5 }]);
  });
});
