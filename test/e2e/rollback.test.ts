/**
 * `relengd rollback` and `relengd releases` against a real daemon (the demo's pipeline with HTTP),
 * a real OSTree repository and the real CLI: two versions composed and promoted through their gates,
 * then the release refs moved back.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import type { Daemon } from '../../src/cli/daemon.ts';
import { DEMO_ARCHES, DEMO_GROUP, DEMO_VERSION } from '../../src/cli/demo/scenario.ts';
import { Store } from '../../src/store/store.ts';
import { ostree } from '../helpers/executor-context.ts';
import { withOperatorTokens } from '../helpers/operator-tokens.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { runCli } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const LOCAL = `local:${userInfo().username}`;
const V1 = DEMO_VERSION;
/** The day's second compose: Bodhi pushed again, with a new kernel. */
const V2 = '26.20170705.1';
const RELENG_TOKEN = 'releng-rollback-0123456789abcdef01';
const CI_TOKEN = 'ci-rollback-0123456789abcdef0123456';
const noEnvToken = { RELENGD_TOKEN: '' };
const releaseRef = (arch: string): string => `fedora/26/${arch}/atomic-host`;

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

/** HTTP tokens for `releng` and `ci`; only `releng` may roll back. */
const withTokens = (dir: string) => withOperatorTokens(dir, { releng: RELENG_TOKEN, ci: CI_TOKEN }, 'relengd.release.rollback.requested');

/** The demo's pipeline, with V1 and then V2 composed and promoted by their Greenwave decisions. */
async function twoReleases(edit?: (dir: string) => (yaml: string) => string) {
  const dir = tempDir();
  const p = await startPipeline(dir, edit?.(dir), { http: true });
  daemon = p.daemon;
  const releaseCommits = async () => Object.fromEntries(await Promise.all(DEMO_ARCHES.map(async (arch) => [arch, (await p.repo.revParse(releaseRef(arch)))!]))) as Record<string, string>;
  const greenwave = (version: string, id: string) => (s: (typeof p.steps)[number]) => {
    const data = s.message.data as Record<string, unknown>;
    return { ...s, message: { ...s.message, id, data: { ...data, subject_identifier: `${DEMO_GROUP}-${version}`, subject: [{ 'productmd.compose.id': `${DEMO_GROUP}-${version}` }] } } };
  };
  await p.feed(0);
  await p.feed(2);
  const v1 = await releaseCommits();
  await p.feed(0, (s) => ({
    ...s,
    prepare: { file: s.prepare!.file, content: { packages: [...(s.prepare!.content as { packages: string[] }).packages, 'kernel-4.11.9-300.fc26'] } },
    message: { ...s.message, id: 'second-push', time: '2017-07-05T18:00:00+00:00' },
  }));
  await p.feed(2, greenwave(V2, 'gw-second'));
  const v2 = await releaseCommits();
  expect(p.events('relengd.release.promoted').map((e) => e.version)).toEqual([V1, V2]);
  return { dir, config: join(dir, 'relengd.yaml'), p, v1, v2, releaseCommits, greenwave };
}

describe('relengd rollback', () => {
  it('is refused over HTTP without an allowed token; the allowed publisher moves every arch back as new commits clients fast-forward to; releases lists it all', { timeout: 300_000 }, async () => {
    const { dir, config, p, v1, v2, releaseCommits, greenwave } = await twoReleases(withTokens);
    const url = p.daemon.http!.url;

    // Refused: no token (403), a token nobody has (401), a publisher `publishers` does not allow (403), the CLI without a token.
    const command = { topic: 'org.fedoraproject.prod.relengd.release.rollback.requested', body: { group: DEMO_GROUP } };
    const [anonymous, unknownToken, notAllowed, anonymousCli] = await Promise.all([
      publishOverHttp(url, command),
      publishOverHttp(url, command, { token: 'not-a-token-0123456789abcdef01' }),
      publishOverHttp(url, command, { token: CI_TOKEN }),
      runCli(['--config', config, 'rollback', '--group', DEMO_GROUP, '--url', url], noEnvToken),
    ]);
    expect([anonymous.status, unknownToken.status, notAllowed.status]).toEqual([403, 401, 403]);
    expect(notAllowed.body.error).toContain('sender was ci');
    expect(anonymousCli.code).toBe(1);
    expect(anonymousCli.stdout).toContain('refused (unauthorized)');
    await p.daemon.idle();
    expect(p.events('relengd.release.rollback.requested')).toEqual([]);
    expect(await p.daemon.store.jobs.list({ kind: 'rollback' })).toEqual([]);
    expect(await releaseCommits()).toEqual(v2);
    const rejected = (await p.daemon.store.rejected.list()).filter((r) => r.topic?.endsWith('rollback.requested'));
    expect(rejected.length).toBeGreaterThan(0);
    expect(new Set(rejected.map((r) => r.reason))).toEqual(new Set(['unauthorized']));

    // The allowed publisher: back to the previous promoted version, waiting for the outcome.
    const asked = await runCli(['--config', config, 'rollback', '--group', DEMO_GROUP, '--comment', 'kernel panics on boot', '--wait', '--json', '--url', url, '--token-file', join(dir, 'token-releng')], noEnvToken);
    expect(asked.code, asked.stderr).toBe(0);
    const reply = JSON.parse(asked.stdout) as { ok: boolean; via: string; outcome: string; fromVersion: string; toVersion: string; refs: Array<{ ref: string; arch: string; from: string; to: string }> };
    expect(reply).toMatchObject({ ok: true, via: 'http', outcome: 'rolled-back', fromVersion: V2, toVersion: V1 });
    const now = await releaseCommits();
    expect(reply.refs.map((r) => [r.ref, r.from, r.to]).sort()).toEqual(DEMO_ARCHES.map((arch) => [releaseRef(arch), v2[arch], now[arch]]).sort());
    const repoPath = join(dir, 'repo');
    for (const arch of DEMO_ARCHES) {
      // V1's tree, as a new commit whose parent is the V2 release: clients fast-forward to it.
      expect(now[arch]).not.toBe(v1[arch]);
      expect(await p.repo.sameTree(now[arch]!, v1[arch]!)).toBe(true);
      expect(ostree('ls', `--repo=${repoPath}`, '-R', now[arch]!)).toBe(ostree('ls', `--repo=${repoPath}`, '-R', v1[arch]!));
      expect(await p.repo.parentOf(now[arch]!)).toBe(v2[arch]);
    }
    expect(p.events('relengd.release.rolled-back')).toMatchObject([{ group: DEMO_GROUP, fromVersion: V2, toVersion: V1, requestedBy: 'releng', comment: 'kernel panics on boot' }]);
    const metadata = JSON.parse(readFileSync(join(dir, 'streams', `${DEMO_GROUP}.json`), 'utf8')) as { architectures: Record<string, { ostree: { commit: string; version: string } }> };
    for (const arch of DEMO_ARCHES) expect(metadata.architectures[arch]!.ostree).toMatchObject({ commit: now[arch], version: V1 });

    // A late gating message for the rolled-back version promotes nothing.
    await p.feed(2, greenwave(V2, 'gw-late'));
    expect(p.events('relengd.release.promoted')).toHaveLength(2);
    expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toHaveLength(2);
    expect(await releaseCommits()).toEqual(now);

    // An operator's promotion of it is refused without --force, saying so.
    const again = await runCli(['--config', config, 'promote', '--group', DEMO_GROUP, '--version', V2, '--wait'], noEnvToken);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(`refused (rolled-back): ${V2} was rolled back (by releng at `);
    expect(again.stdout).toContain(`relengd promote --group ${DEMO_GROUP} --version ${V2} --force`);

    // The history: newest first, who asked or which gates held, each ref from -> to.
    const listed = await runCli(['--config', config, 'releases', '--group', DEMO_GROUP, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(entries).toMatchObject([
      { kind: 'rolled-back', fromVersion: V2, toVersion: V1, requestedBy: 'releng', comment: 'kernel panics on boot', refs: reply.refs },
      { kind: 'promoted', version: V2, requestedBy: null, gates: ['greenwave atomic_two_week'], rolledBack: true },
      { kind: 'promoted', version: V1, requestedBy: null, gates: ['greenwave atomic_two_week'], rolledBack: false },
    ]);
    expect((entries[1]!.refs as Array<{ from: string; to: string }>).map((r) => [r.from, r.to]).sort()).toEqual(DEMO_ARCHES.map((arch) => [v1[arch], v2[arch]]).sort());
    const plain = await runCli(['--config', config, 'releases', '--group', DEMO_GROUP]);
    expect(plain.stdout).toContain(`rolled back  ${V2} -> ${V1}  asked by releng: kernel panics on boot`);
    expect(plain.stdout).toContain(`promoted     ${V2} [rolled back]  gates: greenwave atomic_two_week`);
    expect(plain.stdout).toContain(`  ${releaseRef('x86_64')}  ${v2.x86_64!.slice(0, 12)} -> ${now.x86_64!.slice(0, 12)}`);
  });

  it('refuses ref-moved when a release ref was moved outside relengd, and moves nothing', { timeout: 300_000 }, async () => {
    const { config, p, v1, v2, releaseCommits } = await twoReleases();
    // Someone moves the aarch64 release ref by hand after relengd released V2.
    await p.repo.setRef(releaseRef('aarch64'), v1.aarch64!);
    const moved = { ...v2, aarch64: v1.aarch64! };

    const asked = await runCli(['--config', config, 'rollback', '--group', DEMO_GROUP, '--to-version', V1, '--wait']);
    expect(asked.code).toBe(1);
    expect(asked.stdout).toContain(`refused (ref-moved): ${releaseRef('aarch64')} is at ${v1.aarch64}, not at ${v2.aarch64} where relengd released ${V2}`);
    expect(await releaseCommits()).toEqual(moved);
    expect(p.events('relengd.release.rolled-back')).toEqual([]);
    expect(p.events('relengd.release.rollback.refused')).toMatchObject([{ reason: 'ref-moved', requestedBy: LOCAL, fromVersion: V2, toVersion: V1 }]);
    expect((await p.daemon.store.jobs.list({ kind: 'rollback' })).map((j) => j.state)).toEqual(['failed']);
  });
});

describe('relengd releases and rollback on the command line', () => {
  it('releases creates no store and says where it looked; both name an unknown group (exit 2)', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const config = join(dir, 'relengd.yaml');
    writeFileSync(config, `store: { path: ${join(dir, 'relengd.db')} }\njobs: { workdir: ${join(dir, 'jobs')} }\n`);
    const noStore = await runCli(['--config', config, 'releases', '--group', DEMO_GROUP]);
    expect(noStore.code).toBe(1);
    expect(noStore.stderr).toContain(`no store at ${join(dir, 'relengd.db')}`);
    expect(existsSync(join(dir, 'relengd.db'))).toBe(false);

    Store.open(join(dir, 'relengd.db')).close();
    const [unknownGroup, rollbackUnknown, bothTargets] = await Promise.all([
      runCli(['--config', config, 'releases', '--group', 'f99-nothing']),
      runCli(['--config', config, 'rollback', '--group', 'f99-nothing']),
      runCli(['--config', config, 'rollback', '--group', DEMO_GROUP, '--to-version', V1, '--to', 'abcdef0']),
    ]);
    for (const result of [unknownGroup, rollbackUnknown, bothTargets]) expect(result.code).toBe(2);
    expect(unknownGroup.stderr).toContain('no group f99-nothing in the configuration and no release of it recorded');
    expect(rollbackUnknown.stderr).toContain('no promoted group f99-nothing in the configuration');
    expect(bothTargets.stderr).toContain('give at most one of --to-version and --to');
  });
});
