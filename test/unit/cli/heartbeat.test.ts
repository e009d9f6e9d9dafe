import { afterEach, describe, expect, it } from 'vitest';
import { startHeartbeat } from '../../../src/cli/heartbeat.ts';
import { fixedClock } from '../../../src/clock.ts';
import { silentLogger } from '../../../src/log.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import { FORGET_SILENT_AFTER_MS } from '../../../src/store/daemons.ts';
import { openStore } from '../../../src/store/open.ts';
import { testConfig } from '../../helpers/config.ts';
import { tempDir } from '../../helpers/tmp.ts';

const NOW = new Date('2026-12-03T10:00:00.000Z');
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();

let store: StoreApi | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('the heartbeat of a starting daemon', () => {
  it('forgets the daemons killed more than a day ago, and keeps one killed an hour ago (status shows it down)', async () => {
    store = await openStore(testConfig(tempDir()));
    const killed = (id: string, heartbeatAt: string) => store!.daemons.register({ id, host: 'relengd-1', pid: 7, url: null, version: '0.1.0', startedAt: ago(3 * FORGET_SILENT_AFTER_MS), heartbeatAt });
    await killed('killed-two-days-ago', ago(2 * FORGET_SILENT_AFTER_MS));
    await killed('killed-a-day-and-a-second-ago', ago(FORGET_SILENT_AFTER_MS + 1000));
    await killed('killed-an-hour-ago', ago(60 * 60 * 1000));

    const heartbeat = await startHeartbeat({ store, clock: fixedClock(NOW), url: null, version: '0.1.0', logger: silentLogger() });
    try {
      expect((await store.daemons.list()).map((d) => d.id)).toEqual([heartbeat.id, 'killed-an-hour-ago']);
    } finally {
      await heartbeat.stop();
    }
    expect((await store.daemons.list()).map((d) => d.id)).toEqual(['killed-an-hour-ago']);
  });
});
