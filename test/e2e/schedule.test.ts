/**
 * The seed's daily two-week artifacts (`twoweek-nightly.sh` from cron) as `triggers.schedule`:
 * the daemon in process on a real OSTree repository with stand-in builders, its calendar on a fake
 * clock. A firing rebuilds installer and images from the commit each stream has now.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/cli/daemon.ts';
import { fakeTime } from '../helpers/fake-time.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

/** The demo's streams, their Koji tag trigger swapped for a daily 05:00 UTC rebuild of the artifacts. */
function dailyArtifacts(yaml: string): string {
  const tagTrigger = /^( +)tags: \[.*\]$/gm;
  const edited = yaml.replace(tagTrigger, '$1schedule: [{ cron: "0 5 * * *", action: artifacts }]');
  if (edited.match(/schedule: \[/g)?.length !== 2) throw new Error('the demo config changed its triggers: update dailyArtifacts');
  return edited;
}

describe('a daily schedule with action artifacts', () => {
  it('rebuilds the installer and images from each stream\'s current commit, as a new compose', { timeout: 60_000 }, async () => {
    const time = fakeTime('2026-11-26T04:00:00Z');
    const p = await startPipeline(tempDir(), dailyArtifacts, { clock: time.clock, wakeups: time.timers });
    daemon = p.daemon;
    await p.feed(0); // Bodhi mashes f26-updates: a commit per arch, its artifacts, compose.finished
    const byArch = (composes: Array<Record<string, unknown>>) => composes.sort((a, b) => String(a.arch).localeCompare(String(b.arch)));
    const first = byArch(p.events('relengd.compose.finished'));
    expect(first.map((c) => c.status)).toEqual(['FINISHED', 'FINISHED']);
    const commits = new Map(first.map((c) => [c.arch, c.commit]));

    await time.advanceTo('2026-11-26T05:00:00Z', () => p.daemon.calendar.idle());
    await p.daemon.idle();

    expect(p.events('relengd.schedule.fired').map((f) => [f.slot, f.action])).toEqual([['2026-11-26T05:00:00.000Z', 'artifacts']]);
    const rebuilt = byArch(p.events('relengd.compose.finished').slice(2));
    expect(rebuilt.map((c) => [c.arch, c.status, c.commit, c.version])).toEqual(first.map((c) => [c.arch, 'FINISHED', commits.get(c.arch as string), c.version]));
    expect(rebuilt.filter((c) => first.some((f) => f.composeId === c.composeId))).toEqual([]);
    expect(rebuilt.flatMap((c) => (c.artifacts as Array<{ name: string }>).map((a) => a.name)).sort()).toEqual(['installer', 'installer', 'qcow2', 'qcow2']);
    // No new tree: the rebuild ran builders only.
    expect(p.events('relengd.ostree.compose.finished')).toHaveLength(2);
  });
});
