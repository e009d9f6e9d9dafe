/**
 * The rollback executor against a real OSTree repository where relengd promoted two versions of a
 * two-arch group: every release ref back to the earlier tree as a new commit on top of the current
 * release (clients fast-forward), all arches or none, compare-and-swap against where relengd
 * released the version rolled back.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Executor, JobOutcome } from '../../../src/jobs/executor.ts';
import { promoteExecutor, SOURCE_COMMIT_KEY } from '../../../src/jobs/executors/promote.ts';
import { ROLLED_BACK_FROM_KEY, rollbackExecutor } from '../../../src/jobs/executors/rollback.ts';
import type { RollbackJobSpec } from '../../../src/jobs/specs.ts';
import { execRun, openRepo, type OstreeRepo, type Run } from '../../../src/ostree/index.ts';
import { commitObjectCount, executorContext, newWorkdir, ostree, summaryRefs } from '../../helpers/executor-context.ts';

const ARCHES = ['x86_64', 'aarch64'] as const;
type Arch = (typeof ARCHES)[number];
type PerArch = Record<Arch, string>;
const GROUP = 'f26-atomic-host';
const [V1, V2, V3] = ['26.20261126.0', '26.20261210.0', '26.20261224.0'];
const GENERATOR = 'relengd 0.1.0 (test)';
const updatesRef = (arch: Arch): string => `fedora/26/${arch}/updates/atomic-host`;
const releaseRef = (arch: Arch): string => `fedora/26/${arch}/atomic-host`;
const qcow2 = (arch: Arch, version: string) => ({ name: 'qcow2', kind: 'image' as const, platform: 'qemu', format: 'qcow2', path: `/j/Fedora-${version}.${arch}.qcow2`, sha256: 'e'.repeat(64), size: 10 });

let tmp: string;
let repoPath: string;
let metadataPath: string;
let repo: OstreeRepo;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-rollback-'));
  repoPath = join(tmp, 'repo');
  metadataPath = join(tmp, 'web', `${GROUP}.json`);
  repo = openRepo(repoPath);
  await repo.init('archive');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

async function each(f: (arch: Arch) => Promise<string | null>): Promise<Record<Arch, string | null>> {
  return { x86_64: await f('x86_64'), aarch64: await f('aarch64') };
}

/** Composes `version` on each updates ref (a child of the last compose) and promotes it as relengd does: release commits bound to the release refs. */
async function composeAndPromote(version: string): Promise<{ candidates: PerArch; released: PerArch }> {
  const candidates = (await each(async (arch) => {
    const dir = join(tmp, 'trees', `${arch}-${version}`);
    mkdirSync(join(dir, 'usr/lib'), { recursive: true });
    writeFileSync(join(dir, 'usr/lib/os-release'), `VERSION="${version} (Atomic Host)"\nARCH=${arch}\n`);
    return repo.commit({ tree: { dir }, branch: updatesRef(arch), subject: `${updatesRef(arch)} ${version}`, metadata: { version } });
  })) as PerArch;
  const targets = ARCHES.map((arch) => ({ arch, stream: `${GROUP}-${arch}`, repo: repoPath, sourceRef: updatesRef(arch), ref: releaseRef(arch), commit: candidates[arch], composeId: `c-${version}`, artifacts: [qcow2(arch, version)] }));
  const spec = { group: GROUP, version, force: false, requestedBy: null, targets, summary: { gpgKey: null }, deltas: false, metadata: metadataPath, baseUrl: null };
  const outcome = await run(promoteExecutor({ openRepo: (path) => openRepo(path), generator: GENERATOR }), 'promote', spec);
  expect(outcome.state, outcome.error).toBe('succeeded');
  return { candidates, released: (await each((arch) => repo.revParse(releaseRef(arch)))) as PerArch };
}

function rollbackSpec(from: { version: string; released: PerArch }, to: { version: string; released: PerArch }): RollbackJobSpec {
  return {
    group: GROUP,
    fromVersion: from.version,
    toVersion: to.version,
    requestedBy: 'local:alice',
    comment: 'kernel panics on boot',
    targets: ARCHES.map((arch) => ({ arch, stream: `${GROUP}-${arch}`, repo: repoPath, ref: releaseRef(arch), expected: from.released[arch], commit: to.released[arch], artifacts: [qcow2(arch, to.version)] })),
    summary: { gpgKey: null },
    deltas: true,
    metadata: metadataPath,
    baseUrl: null,
  };
}

function run(executor: Executor, kind: string, spec: unknown, workdir = newWorkdir(tmp)): Promise<JobOutcome> {
  return executor.execute(executorContext({ kind, spec, workdir, id: `${kind}-job` }));
}

const rollback = rollbackExecutor({ openRepo: (path) => openRepo(path), generator: GENERATOR });

/** Two releases: V1, then V2 (a descendant), as the rollback finds them. */
async function twoReleases() {
  const v1 = { version: V1, ...(await composeAndPromote(V1)) };
  const v2 = { version: V2, ...(await composeAndPromote(V2)) };
  return { v1, v2 };
}

function only(outcome: JobOutcome, topic: string): Record<string, unknown> {
  expect(outcome.emit.map((e) => e.topic)).toEqual([topic]);
  return outcome.emit[0]!.data as Record<string, unknown>;
}

// Each test makes two or three releases through the real `ostree` CLI: slow on a busy machine.
describe('rollback executor', { timeout: 180_000 }, () => {
  it('moves every arch back to the earlier tree as a new commit on top of the current release, and later promotions still fast-forward', async () => {
    const { v1, v2 } = await twoReleases();

    const outcome = await rollback.execute(executorContext({ kind: 'rollback', spec: rollbackSpec(v2, v1), workdir: newWorkdir(tmp), id: 'rollback-job' }));

    expect(outcome.state, outcome.error).toBe('succeeded');
    const moved = (await each((arch) => repo.revParse(releaseRef(arch)))) as PerArch;
    for (const arch of ARCHES) {
      const to = moved[arch];
      expect(to).not.toBe(v1.released[arch]);
      // The old version's content, as `ostree ls` shows it and by content checksum ...
      expect(await repo.sameTree(to, v1.released[arch])).toBe(true);
      expect(ostree('ls', `--repo=${repoPath}`, '-R', to)).toBe(ostree('ls', `--repo=${repoPath}`, '-R', v1.released[arch]));
      // ... on top of the release it replaces: `ostree admin upgrade` fast-forwards to it.
      expect(await repo.parentOf(to)).toBe(v2.released[arch]);
      expect(await repo.refBindings(to)).toEqual([releaseRef(arch)]);
      expect(await repo.metadata(to, 'version')).toBe(V1);
      expect(await repo.metadata(to, SOURCE_COMMIT_KEY)).toBe(v1.candidates[arch]);
      expect(await repo.metadata(to, ROLLED_BACK_FROM_KEY)).toBe(V2);
    }
    expect(only(outcome, 'relengd.release.rolled-back')).toEqual({
      group: GROUP,
      fromVersion: V2,
      toVersion: V1,
      refs: ARCHES.map((arch) => ({ ref: releaseRef(arch), arch, from: v2.released[arch], to: moved[arch] })),
      requestedBy: 'local:alice',
      comment: 'kernel panics on boot',
      jobId: 'rollback-job',
    });
    expect(summaryRefs(repoPath)).toMatchObject({ [releaseRef('x86_64')]: moved.x86_64, [releaseRef('aarch64')]: moved.aarch64 });
    const metadata = JSON.parse(readFileSync(metadataPath, 'utf8')) as { architectures: Record<Arch, { ostree: { commit: string; version: string }; artifacts: { qemu: { release: string } } }> };
    for (const arch of ARCHES) expect(metadata.architectures[arch]).toMatchObject({ ostree: { commit: moved[arch], version: V1 }, artifacts: { qemu: { release: V1 } } });
    const deltas = await repo.listStaticDeltas();
    for (const arch of ARCHES) expect(deltas).toContainEqual({ from: v2.released[arch], to: moved[arch] });

    // The next version (composed after V2) promotes without --force: its history holds the candidate the rollback commit stands for.
    const v3 = await composeAndPromote(V3);
    for (const arch of ARCHES) expect(await repo.parentOf(v3.released[arch])).toBe(moved[arch]);
  });

  it('refuses ref-moved when a release ref is not where relengd released the version, and writes nothing', async () => {
    const { v1, v2 } = await twoReleases();
    execFileSync('ostree', ['refs', `--repo=${repoPath}`, '--force', `--create=${releaseRef('aarch64')}`, v1.released.aarch64]);
    const commitsBefore = commitObjectCount(repoPath);

    const outcome = await run(rollback, 'rollback', rollbackSpec(v2, v1));

    expect(outcome.state).toBe('failed');
    const refused = only(outcome, 'relengd.release.rollback.refused');
    expect(refused).toMatchObject({ group: GROUP, fromVersion: V2, toVersion: V1, reason: 'ref-moved', requestedBy: 'local:alice', jobId: 'rollback-job' });
    expect(refused.detail).toContain(`${releaseRef('aarch64')} is at ${v1.released.aarch64}, not at ${v2.released.aarch64}`);
    expect(await each((arch) => repo.revParse(releaseRef(arch)))).toEqual({ x86_64: v2.released.x86_64, aarch64: v1.released.aarch64 });
    expect(commitObjectCount(repoPath)).toBe(commitsBefore);
  });

  it('refuses ref-moved when a ref moves between the plan and its move: the arch already moved back is put back', async () => {
    const { v1, v2 } = await twoReleases();
    const other = v1.candidates.aarch64;
    // Someone moves the aarch64 release ref right after the rollback moved x86_64's.
    let fired = false;
    const racing: Run = async (argv) => {
      const result = await execRun(argv);
      if (!fired && argv.includes(`--create=${releaseRef('x86_64')}`)) {
        fired = true;
        execFileSync('ostree', ['refs', `--repo=${repoPath}`, '--force', `--create=${releaseRef('aarch64')}`, other]);
      }
      return result;
    };

    const outcome = await run(rollbackExecutor({ openRepo: (path) => openRepo(path, racing), generator: GENERATOR }), 'rollback', rollbackSpec(v2, v1));

    expect(fired).toBe(true);
    expect(outcome.state).toBe('failed');
    const refused = only(outcome, 'relengd.release.rollback.refused');
    expect(refused).toMatchObject({ reason: 'ref-moved' });
    expect(refused.detail).toContain('nothing was rolled back');
    expect(await each((arch) => repo.revParse(releaseRef(arch)))).toEqual({ x86_64: v2.released.x86_64, aarch64: other });
    expect(summaryRefs(repoPath)[releaseRef('x86_64')]).toBe(v2.released.x86_64);
  });

  it('a re-run after the refs moved (crash before the result was stored) reports the same moves and writes no new commit', async () => {
    const { v1, v2 } = await twoReleases();
    const workdir = newWorkdir(tmp);
    const first = await run(rollback, 'rollback', rollbackSpec(v2, v1), workdir);
    const commits = commitObjectCount(repoPath);

    const again = await rollback.execute(executorContext({ kind: 'rollback', spec: rollbackSpec(v2, v1), workdir, id: 'rollback-job', recovering: true }));

    expect(again.state).toBe('succeeded');
    expect(only(again, 'relengd.release.rolled-back').refs).toEqual(only(first, 'relengd.release.rolled-back').refs);
    expect(commitObjectCount(repoPath)).toBe(commits);
  });
});
