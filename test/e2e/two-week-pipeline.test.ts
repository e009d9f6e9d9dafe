import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/cli/daemon.ts';
import { DEMO_VERSION } from '../../src/cli/demo/scenario.ts';
import { onTestStore } from '../helpers/config.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { runCli } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

/** The demo's pipeline on the store under test (RELENGD_TEST_STORE); `events` reads it through StoreApi. */
async function pipeline(edit?: (yaml: string) => string, dir = tempDir(), options: { http?: boolean } = {}) {
  const p = await startPipeline(dir, onTestStore(dir, edit), options);
  daemon = p.daemon;
  const events = async (topic: string) => (await p.daemon.store.events.query({ topic, order: 'asc' })).map((e) => e.envelope.data as Record<string, unknown>);
  return { ...p, events };
}

/** Makes one artifact's stand-in builder fail, in every stream. */
const failing = (output: string) => (yaml: string) => yaml.replaceAll(`"--out=${output}"]`, `"--out=${output}","--fail"]`);

describe('the two-week release on a real OSTree repository', () => {
  it('promotes a compose whose failable image failed (FINISHED_INCOMPLETE is accepted)', { timeout: 60_000 }, async () => {
    const p = await pipeline(failing('{outputDir}/Fedora-Atomic-{version}.{arch}.qcow2'));
    await p.feed(0);
    expect((await p.events('relengd.compose.finished')).map((c) => c.status)).toEqual(['FINISHED_INCOMPLETE', 'FINISHED_INCOMPLETE']);
    expect((await p.events('relengd.artifact.build.failed')).map((a) => a.name)).toEqual(['qcow2', 'qcow2']);
    await p.feed(2);
    const [promoted] = await p.events('relengd.release.promoted');
    expect(promoted).toMatchObject({ group: 'f26-atomic-host', version: DEMO_VERSION });
    for (const ref of promoted!.refs as Array<{ ref: string; to: string }>) expect(await p.repo.revParse(ref.ref)).toBe(ref.to);
  });

  it('dooms a compose whose non-failable installer failed, and promotes nothing', { timeout: 60_000 }, async () => {
    const p = await pipeline((yaml) => failing('{outputDir}/images/boot.iso')(yaml).replaceAll('failable: true\n        output: "{outputDir}/images/boot.iso"', 'failable: false\n        output: "{outputDir}/images/boot.iso"'));
    await p.feed(0);
    expect((await p.events('relengd.compose.finished')).map((c) => c.status)).toEqual(['DOOMED', 'DOOMED']);
    expect((await p.events('relengd.release.promotion.refused')).map((r) => r.reason)).toEqual(['status-not-accepted', 'status-not-accepted']);
    await p.feed(2);
    expect(await p.events('relengd.release.promoted')).toEqual([]);
    expect(await p.repo.revParse('fedora/26/x86_64/atomic-host')).toBeNull();
  });

  it('does not announce or promote a compose that changed nothing', { timeout: 60_000 }, async () => {
    const p = await pipeline();
    await p.feed(0);
    const firstCommit = await p.repo.revParse('fedora/26/x86_64/updates/atomic-host');
    // Bodhi pushes again with the same content: rpm-ostree finds nothing to commit.
    await p.feed(0, (s) => ({ ...s, message: { ...s.message, id: 'second-push', time: '2017-07-05T18:00:00+00:00' } }));
    const composes = await p.events('relengd.ostree.compose.finished');
    expect(composes.map((c) => [c.version, c.commit === null])).toEqual([
      [DEMO_VERSION, false],
      [DEMO_VERSION, false],
      ['26.20170705.1', true],
      ['26.20170705.1', true],
    ]);
    expect(await p.events('relengd.compose.finished')).toHaveLength(2); // only the first push's
    expect(await p.repo.revParse('fedora/26/x86_64/updates/atomic-host')).toBe(firstCommit);
    // Gating the no-change version promotes nothing: there is no such candidate.
    await p.feed(2, (s) => ({ ...s, message: { ...s.message, id: 'gw-nochange', data: { ...(s.message.data as object), subject_identifier: 'f26-atomic-host-26.20170705.1' } } }));
    expect(await p.events('relengd.release.promoted')).toEqual([]);
    expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toEqual([]);
  });

  it('refuses a Greenwave decision with policies_satisfied false, and moves no ref', { timeout: 60_000 }, async () => {
    const p = await pipeline();
    await p.feed(0);
    await p.feed(2, (s) => ({ ...s, message: { ...s.message, data: { ...(s.message.data as object), policies_satisfied: false } } }));
    expect(await p.events('relengd.release.promotion.refused')).toMatchObject([{ reason: 'gate-failed', version: DEMO_VERSION }]);
    expect(await p.repo.revParse('fedora/26/x86_64/atomic-host')).toBeNull();
  });
});

describe('relengd promote (manual, audited)', () => {
  it('promotes a version without its gates, recording the operator who asked, and refuses a version the arches are not at', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const p = await pipeline(undefined, dir, { http: true });
    daemon = p.daemon;
    await p.feed(0);
    // An operator on this machine: the command is written to the store as local:<user>.
    const missing = await runCli(['--config', join(dir, 'relengd.yaml'), 'promote', '--group', 'f26-atomic-host', '--version', '26.20170705.7']);
    expect(missing.code, missing.stderr).toBe(0);
    await p.daemon.idle();
    expect(await p.events('relengd.release.promotion.refused')).toMatchObject([{ reason: 'version-mismatch', version: '26.20170705.7' }]);

    const asked = await runCli(['--config', join(dir, 'relengd.yaml'), 'promote', '--group', 'f26-atomic-host', '--version', DEMO_VERSION, '--comment', 'release day']);
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stdout).toContain(`as local:${userInfo().username}`);
    await p.daemon.idle();
    const request = (await p.events('relengd.release.promote.requested')).at(-1);
    expect(request).toMatchObject({ group: 'f26-atomic-host', version: DEMO_VERSION, force: false, comment: 'release day' });
    const [job] = await p.daemon.store.jobs.list({ kind: 'promote' });
    expect((job!.spec as { requestedBy: string }).requestedBy).toBe(`local:${userInfo().username}`);
    const [promoted] = await p.events('relengd.release.promoted');
    expect(promoted).toMatchObject({ version: DEMO_VERSION, forced: false });
    for (const ref of promoted!.refs as Array<{ ref: string; to: string }>) expect(await p.repo.revParse(ref.ref)).toBe(ref.to);
  });

  it('promote --wait returns the outcome: refused with its reason (exit 1), or the refs moved (exit 0)', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const p = await pipeline(undefined, dir, { http: true });
    daemon = p.daemon;
    await p.feed(0);
    const config = join(dir, 'relengd.yaml');
    const refused = await runCli(['--config', config, 'promote', '--group', 'f26-atomic-host', '--version', '26.20170705.7', '--wait']);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('refused (version-mismatch): x86_64 is at');

    const promoted = await runCli(['--config', config, 'promote', '--group', 'f26-atomic-host', '--version', DEMO_VERSION, '--wait', '--json']);
    expect(promoted.code, promoted.stderr).toBe(0);
    const reply = JSON.parse(promoted.stdout) as { ok: boolean; outcome: string; version: string; refs: Array<{ ref: string; to: string }> };
    expect(reply).toMatchObject({ ok: true, outcome: 'promoted', version: DEMO_VERSION });
    expect(reply.refs.map((r) => r.ref).sort()).toEqual(['fedora/26/aarch64/atomic-host', 'fedora/26/x86_64/atomic-host']);
    for (const ref of reply.refs) expect(await p.repo.revParse(ref.ref)).toBe(ref.to);
  });

  it('promote --wait with the daemon down, and promote --url to nothing: "cannot reach relengd at ..." (exit 1)', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const p = await pipeline(undefined, dir, { http: true });
    const url = p.daemon.http!.url;
    await p.daemon.stop();
    const config = join(dir, 'relengd.yaml');
    const local = await runCli(['--config', config, 'promote', '--group', 'f26-atomic-host', '--version', DEMO_VERSION, '--wait']);
    expect(local.code).toBe(1);
    expect(local.stderr).toContain(`cannot reach relengd (no daemon heartbeat in ${p.daemon.store.location} for 15 s)`);
    expect(local.stderr).toContain('the daemon promotes it when it runs');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'releng-0123456789abcdef0123456789abcdef\n');
    const remote = await runCli(['--config', config, 'promote', '--url', url, '--token-file', tokenFile, '--group', 'f26-atomic-host', '--version', DEMO_VERSION]);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain(`cannot reach relengd at ${url}: connect ECONNREFUSED`);
    const notOneToken = await runCli(['--config', config, 'promote', '--url', url, '--token-file', config, '--group', 'f26-atomic-host', '--version', DEMO_VERSION]);
    expect(notOneToken.code).toBe(2);
    expect(notOneToken.stderr).toContain('does not hold one token');
    expect(remote.stderr).not.toContain('fetch failed');
  });

  it('refuses a promotion over HTTP without a token, stores nothing and moves no ref', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const p = await pipeline(undefined, dir, { http: true });
    daemon = p.daemon;
    await p.feed(0);
    const before = await p.repo.revParse('fedora/26/x86_64/atomic-host');
    const outsider = await runCli(['--config', join(dir, 'relengd.yaml'), 'promote', '--url', p.daemon.http!.url, '--group', 'f26-atomic-host', '--version', DEMO_VERSION, '--force']);
    expect(outsider.code).toBe(1);
    expect(outsider.stdout).toContain('unauthorized');
    await p.daemon.idle();
    expect(await p.events('relengd.release.promote.requested')).toEqual([]);
    expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toEqual([]);
    expect(await p.repo.revParse('fedora/26/x86_64/atomic-host')).toBe(before);
    expect((await p.daemon.store.rejected.list()).map((r) => r.reason)).toContain('unauthorized');
  });
});
