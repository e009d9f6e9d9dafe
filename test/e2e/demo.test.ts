import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/cli/commands/demo.ts';
import { DEMO_PUNGI_COMPOSE, demoComposeRepo } from '../../src/cli/demo/scenario.ts';
import { runCli } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const revParse = (repo: string, ref: string) => execFileSync('ostree', [`--repo=${repo}`, 'rev-parse', ref], { encoding: 'utf8' }).trim();
const contentChecksum = (repo: string, rev: string) => /ContentChecksum:\s+(\w+)/.exec(execFileSync('ostree', [`--repo=${repo}`, 'show', rev], { encoding: 'utf8' }))![1];

describe('relengd demo', () => {
  it('runs the two-week and the nightly stories to promoted refs on real OSTree repos, and changes nothing when run again', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const first = await runCli(['demo', '--dir', dir, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as DemoSummary;
    expect(summary.repo).toBe(join(dir, 'repo'));

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
    expect(summary.composes.map((c) => c.status)).toEqual(['FINISHED', 'FINISHED', 'FINISHED', 'FINISHED', 'FINISHED', 'FINISHED']);
    expect(summary.composes.filter((c) => c.id === DEMO_PUNGI_COMPOSE).map((c) => c.stream).sort()).toEqual(['f27-atomic-host-aarch64', 'f27-atomic-host-x86_64']);

    const events = await runCli(['events', '--config', join(dir, 'relengd.yaml'), '--json', '--limit', '1000']);
    const topics = (JSON.parse(events.stdout) as Array<{ topic: string }>).map((e) => e.topic);
    expect(topics).toContain('relengd.compose.finished');
    expect(topics).toContain('relengd.release.promoted');

    const again = await runCli(['demo', '--dir', dir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(summary);
    const eventsAgain = await runCli(['events', '--config', join(dir, 'relengd.yaml'), '--json', '--limit', '1000']);
    expect((JSON.parse(eventsAgain.stdout) as unknown[]).length).toBe(topics.length);
    for (const { ref, commit } of summary.promoted) expect(revParse(summary.repo, ref)).toBe(commit);
    const metadata = JSON.parse(readFileSync(join(dir, 'streams', 'f26-atomic-host.json'), 'utf8')) as { architectures: Record<string, { ostree: { commit: string } }> };
    expect(metadata.architectures.x86_64?.ostree.commit).toBe(summary.promoted.find((p) => p.ref.includes('x86_64'))?.commit);
  });
});
