/**
 * The calendar in the real daemon process, on the real clock: a slot missed while relengd was down
 * fires once when it starts (before it serves HTTP), a restart fires it no second time, and
 * `relengd status` shows each schedule's last and next firing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCalendar } from '../../src/bus/calendar/index.ts';
import { latestSlot, nextSlot, parseConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { Intake } from '../../src/pipeline/intake.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { fakeTime } from '../helpers/fake-time.ts';
import { runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { scheduledConfigYaml } from '../helpers/schedule.ts';
import { tempDir } from '../helpers/tmp.ts';

const daemons: DaemonProcess[] = [];
afterEach(() => daemons.splice(0).forEach((d) => d.child.kill('SIGKILL')));

const DAILY = { cron: '0 5 * * *', timezone: 'UTC' };

/** Stores the firing of the daily slot three days ago, as a calendar running then would have. */
async function firedThreeDaysAgo(yaml: string, storePath: string): Promise<string> {
  const config = parseConfig(yaml, {});
  const slot = latestSlot(DAILY, new Date(Date.now() - 3 * 86_400_000))!;
  const time = fakeTime(new Date(slot.getTime() - 60_000).toISOString());
  const store = SqliteStore.open(storePath);
  const calendar = createCalendar({ config, store, clock: time.clock, logger: silentLogger(), wakeups: time.timers });
  const intake = new Intake({ store, config, clock: time.clock, logger: silentLogger() });
  await calendar.start(async (batch) => intake.accept(batch));
  await time.advanceTo(slot.toISOString(), () => calendar.idle());
  await calendar.stop();
  await store.close();
  return slot.toISOString();
}

interface Firing {
  id: string;
  data: { slot: string; missed: boolean };
}

describe('relengd start with triggers.schedule', () => {
  it('fires the latest missed slot once on start, never again on restart, and status shows last and next', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const yaml = scheduledConfigYaml(dir, '{ cron: "0 5 * * *", action: artifacts }');
    const file = join(dir, 'relengd.yaml');
    writeFileSync(file, yaml);
    const old = await firedThreeDaysAgo(yaml, join(dir, 'relengd.db'));
    const firings = async () => (JSON.parse((await runCli(['--config', file, 'events', '--topic', 'relengd.schedule.fired', '--json'])).stdout) as Firing[]).reverse();

    const before = latestSlot(DAILY, new Date())!.toISOString();
    const first = await spawnDaemon(file);
    daemons.push(first);
    const after = latestSlot(DAILY, new Date())!.toISOString();
    // Stored before the daemon listens: no waiting on a timer.
    const caughtUp = await firings();
    expect(caughtUp.map((f) => f.data.slot)).toHaveLength(2);
    expect(caughtUp[0]!.data).toMatchObject({ slot: old, missed: false });
    expect(caughtUp[1]!.data.missed).toBe(true);
    expect([before, after]).toContain(caughtUp[1]!.data.slot);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = await spawnDaemon(file);
    daemons.push(second);
    expect((await firings()).map((f) => f.id)).toEqual(caughtUp.map((f) => f.id));

    const status = await runCli(['--config', file, 'status', '--json']);
    expect(status.code).toBe(0);
    const [schedule] = (JSON.parse(status.stdout) as { schedules: Array<Record<string, unknown>> }).schedules;
    expect(schedule).toMatchObject({
      group: 'f26-atomic-host',
      streams: ['f26-atomic-host-x86_64', 'f26-atomic-host-aarch64'],
      cron: '0 5 * * *',
      timezone: 'UTC',
      action: 'artifacts',
      catchUp: 'latest',
      last: { id: caughtUp[1]!.id, slot: caughtUp[1]!.data.slot, missed: true },
    });
    expect([nextSlot(DAILY, new Date(caughtUp[1]!.data.slot))!.toISOString(), nextSlot(DAILY, new Date())!.toISOString()]).toContain(schedule!.next);
    const text = await runCli(['--config', file, 'status']);
    expect(text.stdout).toContain(`schedules:\n  f26-atomic-host artifacts "0 5 * * *" UTC: last ${caughtUp[1]!.data.slot} (missed, fired `);
    expect(text.stdout).toContain(`, next ${schedule!.next as string}`);
  });
});
