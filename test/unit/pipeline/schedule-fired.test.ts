import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.ts';
import type { ScheduleFired } from '../../../src/events/relengd/schedule.ts';
import { STREAM_HEAD } from '../../../src/pipeline/listeners/composer.ts';
import { scheduleFired } from '../../../src/pipeline/listeners/schedule-fired.ts';
import { groupSchedules } from '../../../src/pipeline/listeners/schedules.ts';
import { artifactsAndPromotion } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';
import { scheduledConfigYaml } from '../../helpers/schedule.ts';

const config = (schedule: string) => parseConfig(scheduledConfigYaml('/srv/relengd', schedule, { stream: artifactsAndPromotion() }), {});

/** The firing the calendar stores for the config's first schedule. */
function firing(c: ReturnType<typeof config>, slot = '2026-11-26T05:00:00.000Z'): ScheduleFired {
  const s = groupSchedules(c)[0]!;
  return { schedule: s.key, group: s.group, streams: s.streams.map((x) => x.id), cron: s.cron, timezone: s.timezone, action: s.action, slot, missed: false };
}

describe('schedule-fired', () => {
  it('is one schedule for the streams of a group that share it', () => {
    expect(groupSchedules(config('{ cron: "0 5 * * *" }')).map((s) => [s.key, s.streams.map((x) => x.arch)])).toEqual([['f26-atomic-host:compose:UTC:0 5 * * *', ['x86_64', 'aarch64']]]);
  });

  it('with action compose asks for a compose of each stream, one version for the group', () => {
    const c = config('{ cron: "0 5 * * *" }');
    const h = listenerHarness(scheduleFired, c);
    const decision = h.send('org.fedoraproject.prod.relengd.schedule.fired', firing(c), { time: '2026-11-26T05:00:02Z' });
    expect(decision.emit.map((e) => [e.topic, e.key, (e.data as { version: string }).version])).toEqual([
      ['relengd.ostree.compose.requested', 'f26-atomic-host-x86_64', '26.20261126.0'],
      ['relengd.ostree.compose.requested', 'f26-atomic-host-aarch64', '26.20261126.0'],
    ]);
  });

  it('with action artifacts rebuilds installer and images from each stream\'s current commit, as a compose of its own', () => {
    const c = config('{ cron: "0 5 * * *", action: artifacts }');
    const h = listenerHarness(scheduleFired, c);
    h.set(STREAM_HEAD, 'f26-atomic-host-x86_64', { composeId: 'c1', commit: 'a'.repeat(64), version: '26.20261125.0', ref: 'r' });
    h.set(STREAM_HEAD, 'f26-atomic-host-aarch64', { composeId: 'c2', commit: 'b'.repeat(64), version: '26.20261125.0', ref: 'r' });
    const decision = h.send('relengd.schedule.fired', firing(c));
    expect(decision.emit.map((e) => { const d = e.data as { stream: string; name: string; commit: string; version: string }; return [e.topic, d.stream, d.name, d.commit, d.version]; })).toEqual([
      ['relengd.artifact.build.requested', 'f26-atomic-host-x86_64', 'installer', 'a'.repeat(64), '26.20261125.0'],
      ['relengd.artifact.build.requested', 'f26-atomic-host-x86_64', 'qcow2', 'a'.repeat(64), '26.20261125.0'],
      ['relengd.artifact.build.requested', 'f26-atomic-host-aarch64', 'installer', 'b'.repeat(64), '26.20261125.0'],
      ['relengd.artifact.build.requested', 'f26-atomic-host-aarch64', 'qcow2', 'b'.repeat(64), '26.20261125.0'],
    ]);
    // One compose of the group, named in Pungi's style, and no version handed out: the commits keep theirs.
    const composeIds = new Set(decision.emit.map((e) => (e.data as { composeId: string }).composeId));
    expect([...composeIds]).toEqual([`f26-atomic-host-${firing(c).slot.slice(0, 10).replaceAll('-', '')}.0`]);
    expect(decision.patches.filter((p) => p.namespace === 'version-use')).toEqual([]);
  });

  it('with action artifacts does nothing for a stream that has no commit yet', () => {
    const c = config('{ cron: "0 5 * * *", action: artifacts }');
    expect(listenerHarness(scheduleFired, c).send('relengd.schedule.fired', firing(c)).emit).toEqual([]);
  });

  it("with action artifacts rebuilds nothing from a commit Pungi made (its artifacts are Pungi's compose's)", () => {
    const c = config('{ cron: "0 5 * * *", action: artifacts }');
    const h = listenerHarness(scheduleFired, c);
    h.set(STREAM_HEAD, 'f26-atomic-host-x86_64', { composeId: 'c1', commit: 'a'.repeat(64), version: 'Fedora-26-20261125.n.0', ref: 'r', pungiComposeId: 'Fedora-26-20261125.n.0' });
    expect(h.send('relengd.schedule.fired', firing(c)).emit).toEqual([]);
  });

  it('does nothing for a schedule no longer configured', () => {
    const before = config('{ cron: "0 5 * * *" }');
    const h = listenerHarness(scheduleFired, config('{ cron: "0 6 * * *" }'));
    expect(h.send('relengd.schedule.fired', firing(before)).emit).toEqual([]);
  });
});
