import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/cli/commands/demo.ts';
import { DEMO_DAILY_CRON, DEMO_PUNGI_COMPOSE, demoComposeRepo, demoDailySlot } from '../../src/cli/demo/scenario.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { runCli } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const revParse = (repo: string, ref: string) => execFileSync('ostree', [`--repo=${repo}`, 'rev-parse', ref], { encoding: 'utf8' }).trim();
const contentChecksum = (repo: string, rev: string) => /ContentChecksum:\s+(\w+)/.exec(execFileSync('ostree', [`--repo=${repo}`, 'show', rev], { encoding: 'utf8' }))![1];

/** The `compose finished` lines of a stretch of the timeline: stream, compose id, short commit. */
const composesIn = (timeline: string) => [...timeline.matchAll(/compose finished +(\S+) FINISHED \(compose (\S+), commit ([0-9a-f]{12}),/g)].map(([, stream, id, commit]) => ({ stream: stream!, id: id!, commit: commit! }));

/** The full commit of `summary`'s lists that a 12-character prefix in the timeline names. */
const fullCommit = (commits: ReadonlyArray<string | null>, short: string) => {
  const found = [...new Set(commits.filter((c): c is string => c?.startsWith(short) ?? false))];
  expect(found, `one commit starting ${short}`).toHaveLength(1);
  return found[0]!;
};

describe('relengd demo', () => {
  it('runs the two-week story with its daily rebuild and the nightly story to promoted refs on real OSTree repos, and changes nothing when run again', { timeout: 480_000 }, async () => {
    const dir = tempDir();
    const first = await runCli(['demo', '--dir', dir]);
    expect(first.code, first.stderr).toBe(0);
    const timeline = first.stdout;
    const stored = async () => (JSON.parse((await runCli(['events', '--config', join(dir, 'relengd.yaml'), '--json', '--limit', '1000'])).stdout) as Array<{ topic: string }>).map((e) => e.topic);
    const topics = await stored();
    expect(topics).toContain('relengd.compose.finished');
    expect(topics).toContain('relengd.release.promoted');
    expect(topics).toContain('relengd.schedule.fired');

    const again = await runCli(['demo', '--dir', dir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout) as DemoSummary;
    expect(summary.repo).toBe(join(dir, 'repo'));
    expect(await stored()).toEqual(topics);

    // Each arch's release ref points at the promoted commit the demo reports: a promotion commit
    // of the composed tree (the composed commit is bound to the updates ref).
    expect(summary.promoted.map((p) => p.ref).sort()).toEqual(['fedora/26/aarch64/atomic-host', 'fedora/26/x86_64/atomic-host', 'fedora/27/aarch64/atomic-host', 'fedora/27/x86_64/atomic-host']);
    for (const { ref, commit } of summary.promoted.filter((p) => p.ref.startsWith('fedora/26/'))) {
      expect(revParse(summary.repo, ref)).toBe(commit);
      const updatesRef = ref.replace('/atomic-host', '/updates/atomic-host');
      expect(contentChecksum(summary.repo, commit)).toBe(contentChecksum(summary.repo, updatesRef));
    }
    // The pre-release story: Pungi's nightly commits, in its compose repo, pulled into the public
    // repo and promoted there; Pungi's nightly refs stay in the compose repo.
    const composeRepo = demoComposeRepo(dir);
    for (const { ref, commit } of summary.promoted.filter((p) => p.ref.startsWith('fedora/27/'))) {
      expect(revParse(summary.repo, ref)).toBe(commit);
      const nightly = revParse(composeRepo, ref.replace('/atomic-host', '/testing/atomic-host'));
      expect(contentChecksum(summary.repo, commit)).toBe(contentChecksum(composeRepo, nightly));
      expect(contentChecksum(summary.repo, nightly)).toBe(contentChecksum(composeRepo, nightly));
    }
    // Bodhi's compose, Koji's rebuild, the daily rebuild (two-week, per arch), Pungi's nightly.
    expect(summary.composes.map((c) => c.status)).toEqual(Array(8).fill('FINISHED'));
    expect(summary.composes.filter((c) => c.id === DEMO_PUNGI_COMPOSE).map((c) => c.stream).sort()).toEqual(['f27-atomic-host-aarch64', 'f27-atomic-host-x86_64']);

    // The daily schedule fired once, at the story's slot, and rebuilt each two-week stream's
    // artifacts from the commit it had: new compose ids, the same commits.
    const slot = demoDailySlot().slot;
    expect(summary.schedule.map((f) => [f.slot, f.action, f.schedule])).toEqual([[slot, 'artifacts', `f26-atomic-host:artifacts:UTC:${DEMO_DAILY_CRON}`]]);
    const rebuilt = summary.schedule[0]!.composes;
    const bodhi = summary.composes.slice(0, 2);
    const byStream = (cs: DemoSummary['composes']) => [...cs].sort((a, b) => a.stream.localeCompare(b.stream));
    expect(byStream(rebuilt).map((c) => [c.stream, c.commit, c.status])).toEqual(byStream(bodhi).map((c) => [c.stream, c.commit, 'FINISHED']));
    // A compose id names the group's compose, shared by its arches: each arch's rebuild is the id and the stream.
    expect(new Set(rebuilt.map((c) => c.id)).size).toBe(1);
    for (const c of rebuilt) expect(summary.composes.filter((other) => other.id === c.id && other.stream === c.stream)).toHaveLength(1);
    expect(rebuilt[0]!.id).toMatch(/^Fedora-AtomicHost-26-\d{8}\.\d+$/);
    // The timeline shows the firing, then the rebuilt composes with their new ids.
    const fired = timeline.indexOf(`schedule fired      f26-atomic-host "${DEMO_DAILY_CRON}" UTC, slot ${slot}: rebuild installer and images`);
    expect(fired, timeline).toBeGreaterThan(timeline.indexOf(demoDailySlot().title));
    const afterFiring = timeline.slice(fired, timeline.indexOf('<-  Greenwave'));
    const shown = composesIn(afterFiring).sort((a, b) => a.stream.localeCompare(b.stream));
    expect(shown).toEqual(byStream(rebuilt).map((c) => ({ stream: c.stream, id: c.id, commit: c.commit!.slice(0, 12) })));

    // Where a promotion is shown, a line per release ref names the promoted and the composed
    // commit and says why they differ; the promoted one is the composed tree, bound to the release ref.
    const repo = openRepo(summary.repo);
    const explained = [...timeline.matchAll(/-> PROMOTED .*\n(?:.*promotion commit .*\n)+/g)].flatMap(([block]) => [...block.matchAll(/promotion commit +(\S+) -> ([0-9a-f]{12}), not the composed ([0-9a-f]{12}) \(bound to (\S+)\): the same tree, committed again bound to the release ref .*`ostree admin upgrade` clients fast-forward/g)]);
    expect(explained.map(([, ref]) => ref).sort(), timeline).toEqual(summary.promoted.map((p) => p.ref).sort());
    for (const [, ref, promotedShort, composedShort, boundTo] of explained) {
      const promoted = fullCommit(summary.promoted.filter((p) => p.ref === ref).map((p) => p.commit), promotedShort!);
      const composed = fullCommit(summary.composes.map((c) => c.commit), composedShort!);
      expect(promoted).not.toBe(composed);
      expect(await repo.sameTree(promoted, composed)).toBe(true);
      expect(await repo.refBindings(promoted)).toEqual([ref]);
      expect(await repo.refBindings(composed)).toContain(boundTo);
      // The first release on its ref: nothing below it yet.
      expect(await repo.parentOf(promoted)).toBeNull();
    }

    // Every released commit is signed: the summary says by which key, and ostree, asked here against
    // the demo's keyring, agrees. The timeline showed the signatures requested and verified.
    expect(summary.signing.keyIds).toHaveLength(1);
    const keyId = summary.signing.keyIds[0]!.slice(-16);
    for (const { commit, signature } of summary.promoted) {
      expect(signature).toEqual({ keyId, signer: 'relengd stand-in signer <signer@relengd.invalid>', verified: true });
      const shown = execFileSync('ostree', [`--repo=${summary.repo}`, 'show', commit, `--gpg-homedir=${summary.signing.keyring}`], { encoding: 'utf8' });
      expect(shown).toMatch(new RegExp(`key ID ${keyId}\\n  Good signature from`));
    }
    expect(timeline).toMatch(/signature requested fedora\/26\/x86_64\/atomic-host [0-9a-f]{12} \(request-reply/);
    expect(timeline).toMatch(/signature requested fedora\/27\/x86_64\/atomic-host [0-9a-f]{12} \(robosignatory/);

    // A third run, with the timeline: every message and the slot already processed, nothing emitted.
    const third = await runCli(['demo', '--dir', dir]);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).not.toContain('  -> ');
    expect(third.stdout).toContain('already fired');
    expect(await stored()).toEqual(topics);
    for (const { ref, commit } of summary.promoted) expect(revParse(summary.repo, ref)).toBe(commit);
    const metadata = JSON.parse(readFileSync(join(dir, 'streams', 'f26-atomic-host.json'), 'utf8')) as { architectures: Record<string, { ostree: { commit: string } }> };
    expect(metadata.architectures.x86_64?.ostree.commit).toBe(summary.promoted.find((p) => p.ref.includes('x86_64'))?.commit);
  });
});
