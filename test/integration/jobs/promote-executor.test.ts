/**
 * The promote executor against a real OSTree repository holding two arches of one release:
 * all refs or none, fast-forward only unless forced, promotion commits where the candidate is bound
 * to the updates ref, rollback on any failure after a ref moved.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { JobOutcome } from '../../../src/jobs/executor.ts';
import { SOURCE_COMMIT_KEY, promoteExecutor } from '../../../src/jobs/executors/promote.ts';
import type { PromoteJobSpec, PromoteTarget } from '../../../src/jobs/specs.ts';
import { execRun, openRepo, type OstreeRepo, type Run } from '../../../src/ostree/index.ts';
import { commitObjectCount, executorContext, newWorkdir, summaryRefs } from '../../helpers/executor-context.ts';

const ARCHES = ['x86_64', 'aarch64'] as const;
type Arch = (typeof ARCHES)[number];
const GROUP = 'f26-atomic-host';
const V1 = '26.20261126.0';
const V2 = '26.20261210.0';
const BASE_URL = 'https://example.org/pub/atomic/26/';
const GENERATOR = 'relengd 0.1.0 (test)';
const NOW = new Date('2026-11-26T12:00:00.000Z');
/** The summary-signing tests need gpg; they are skipped (and named by the reporter) where it is absent. */
const HAS_GPG = spawnSync('gpg', ['--version']).status === 0 && spawnSync('gpgconf', ['--version']).status === 0;

const updatesRef = (arch: Arch): string => `fedora/26/${arch}/updates/atomic-host`;
const releaseRef = (arch: Arch): string => `fedora/26/${arch}/atomic-host`;

let tmp: string;
let repoPath: string;
let metadataPath: string;
let repo: OstreeRepo;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-promote-'));
  repoPath = join(tmp, 'repo');
  metadataPath = join(tmp, 'web', 'streams', `${GROUP}.json`);
  repo = openRepo(repoPath);
  await repo.init('archive');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

let trees = 0;
/** A candidate commit of `arch` at `version`: on the updates ref (so bound to it, and a child of its tip) unless `orphan`. */
async function candidate(arch: Arch, version: string, opts: { orphan?: boolean; parent?: 'none'; variant?: string } = {}): Promise<string> {
  const dir = join(tmp, 'trees', `t${trees++}`);
  mkdirSync(join(dir, 'usr/lib'), { recursive: true });
  writeFileSync(join(dir, 'usr/lib/os-release'), `NAME="Fedora"\nVERSION="${version} (Atomic Host)"\nARCH=${arch}\n${opts.variant ?? ''}`);
  return repo.commit({
    tree: { dir },
    ...(opts.orphan ? { orphan: true } : { branch: updatesRef(arch) }),
    ...(opts.parent ? { parent: opts.parent } : {}),
    subject: `${updatesRef(arch)} ${version}`,
    metadata: { version },
  });
}

/** One candidate per arch. */
async function candidates(version: string, opts: Parameters<typeof candidate>[2] = {}): Promise<Record<Arch, string>> {
  return { x86_64: await candidate('x86_64', version, opts), aarch64: await candidate('aarch64', version, opts) };
}

function target(arch: Arch, commit: string, version: string): PromoteTarget {
  return {
    arch,
    stream: `${GROUP}-${arch}`,
    repo: repoPath,
    sourceRef: updatesRef(arch),
    ref: releaseRef(arch),
    commit,
    composeId: `${GROUP}-${version}`,
    artifacts: [
      {
        name: 'qcow2',
        kind: 'image',
        platform: 'qemu',
        format: 'qcow2',
        path: `/var/lib/relengd/jobs/artifact-${arch}/out/fedora-atomic-${version}.${arch}.qcow2`,
        sha256: createSha(`qcow2-${arch}-${version}`),
        size: 1_234_567,
      },
      {
        name: 'installer',
        kind: 'installer',
        platform: 'metal',
        format: 'iso',
        path: `/var/lib/relengd/jobs/installer-${arch}/out/images/boot.iso`,
        sha256: createSha(`iso-${arch}-${version}`),
        size: 7_654_321,
      },
    ],
  };
}

/** A stand-in sha256 for an artifact file the test does not write. */
function createSha(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

function spec(version: string, commits: Record<Arch, string>, overrides: Partial<PromoteJobSpec> = {}): PromoteJobSpec {
  return {
    group: GROUP,
    version,
    force: false,
    requestedBy: null,
    targets: ARCHES.map((arch) => target(arch, commits[arch], version)),
    summary: { gpgKey: null },
    deltas: false,
    metadata: metadataPath,
    baseUrl: BASE_URL,
    ...overrides,
  };
}

const executor = promoteExecutor({ openRepo: (path) => openRepo(path), generator: GENERATOR });

async function promote(s: PromoteJobSpec, opts: { executor?: typeof executor; workdir?: string; recovering?: boolean } = {}): Promise<JobOutcome> {
  const ctx = executorContext({ kind: 'promote', spec: s, workdir: opts.workdir ?? newWorkdir(tmp), recovering: opts.recovering ?? false, id: `promote-${s.group}-${s.version}`, now: () => NOW });
  return (opts.executor ?? executor).execute(ctx);
}

async function releaseRefs(): Promise<Record<Arch, string | null>> {
  return { x86_64: await repo.revParse(releaseRef('x86_64')), aarch64: await repo.revParse(releaseRef('aarch64')) };
}

function only(outcome: JobOutcome, topic: string): Record<string, unknown> {
  expect(outcome.emit.map((e) => e.topic)).toEqual([topic]);
  return outcome.emit[0]!.data as Record<string, unknown>;
}

/** Promotes V1 candidates (bound to the updates refs) and returns the candidates and the release commits. */
async function firstRelease(): Promise<{ candidates: Record<Arch, string>; released: Record<Arch, string> }> {
  const c = await candidates(V1);
  const outcome = await promote(spec(V1, c));
  expect(outcome.state).toBe('succeeded');
  const refs = await releaseRefs();
  return { candidates: c, released: { x86_64: refs.x86_64!, aarch64: refs.aarch64! } };
}

/** A commit nobody promoted, for "someone else" to point a ref at. */
async function someoneElsesCommit(): Promise<string> {
  return candidate('aarch64', 'hand-made', { orphan: true, variant: 'EDITED_BY_HAND=1\n' });
}

/**
 * Attempt 1 of a promotion in `workdir` during which relengd dies right after the command that
 * writes `ref`: nothing of that attempt runs any more (its later ostree calls never return).
 */
async function crashRightAfterMoving(ref: string, s: PromoteJobSpec, workdir: string): Promise<void> {
  let dead = false;
  let crashed!: () => void;
  const crash = new Promise<void>((resolve) => (crashed = resolve));
  const dying: Run = async (argv) => {
    if (dead) return new Promise(() => undefined);
    const result = await execRun(argv);
    if (argv.includes(`--create=${ref}`)) {
      dead = true;
      crashed();
    }
    return result;
  };
  const attempt1 = promoteExecutor({ openRepo: (path) => openRepo(path, dying), generator: GENERATOR });
  void promote(s, { executor: attempt1, workdir });
  await crash;
}

describe('promote executor', () => {
  it('promotes every arch: promotion commits of the same tree bound to the release refs, release.promoted, stream metadata and summary', async () => {
    const c = await candidates(V1);

    const outcome = await promote(spec(V1, c));

    expect(outcome.state).toBe('succeeded');
    const released = await releaseRefs();
    for (const arch of ARCHES) {
      const to = released[arch]!;
      expect(to).toMatch(/^[0-9a-f]{64}$/);
      // The candidate is bound to the updates ref: clients would refuse it under the release ref.
      expect(await repo.refBindings(c[arch])).toEqual([updatesRef(arch)]);
      expect(to).not.toBe(c[arch]);
      expect(await repo.sameTree(to, c[arch])).toBe(true);
      expect(await repo.refBindings(to)).toEqual([releaseRef(arch)]);
      expect(await repo.metadata(to, 'version')).toBe(V1);
      expect(await repo.metadata(to, SOURCE_COMMIT_KEY)).toBe(c[arch]);
      expect(await repo.parentOf(to)).toBeNull();
      // The updates refs are not touched.
      expect(await repo.revParse(updatesRef(arch))).toBe(c[arch]);
    }

    const data = only(outcome, 'relengd.release.promoted');
    expect(data).toMatchObject({
      group: GROUP,
      version: V1,
      forced: false,
      refs: [
        { ref: releaseRef('x86_64'), arch: 'x86_64', from: null, to: released.x86_64 },
        { ref: releaseRef('aarch64'), arch: 'aarch64', from: null, to: released.aarch64 },
      ],
    });
    expect(data.artifacts).toHaveLength(4);
    expect(data.artifacts).toContainEqual(expect.objectContaining({ arch: 'aarch64', name: 'installer', format: 'iso' }));
    expect(outcome.emit[0]!.subject).toBe(GROUP);

    const metadata = JSON.parse(readFileSync(metadataPath, 'utf8'));
    expect(metadata.stream).toBe(GROUP);
    expect(metadata.metadata).toEqual({ 'last-modified': NOW.toISOString(), generator: GENERATOR });
    for (const arch of ARCHES) {
      const a = metadata.architectures[arch];
      expect(a.ostree).toMatchObject({ ref: releaseRef(arch), commit: released[arch] });
      expect(a.artifacts.qemu.release).toBe(V1);
      expect(a.artifacts.qemu.formats.qcow2.disk).toEqual({ location: `${BASE_URL}${V1}/${arch}/fedora-atomic-${V1}.${arch}.qcow2`, sha256: createSha(`qcow2-${arch}-${V1}`) });
      expect(a.artifacts.metal.formats.iso.disk).toEqual({ location: `${BASE_URL}${V1}/${arch}/boot.iso`, sha256: createSha(`iso-${arch}-${V1}`) });
    }

    expect(existsSync(join(repoPath, 'summary'))).toBe(true);
    expect(summaryRefs(repoPath)).toMatchObject({ [releaseRef('x86_64')]: released.x86_64, [releaseRef('aarch64')]: released.aarch64 });
  });

  it('candidates bound to no ref are promoted as they are: the release ref points at the candidate itself', async () => {
    const c = await candidates(V1, { orphan: true });
    expect(await repo.refBindings(c.x86_64)).toEqual([]);
    const before = commitObjectCount(repoPath);

    const outcome = await promote(spec(V1, c, { baseUrl: null }));

    expect(outcome.state).toBe('succeeded');
    expect(await releaseRefs()).toEqual(c);
    expect(commitObjectCount(repoPath)).toBe(before);
    expect(only(outcome, 'relengd.release.promoted').refs).toEqual([
      { ref: releaseRef('x86_64'), arch: 'x86_64', from: null, to: c.x86_64 },
      { ref: releaseRef('aarch64'), arch: 'aarch64', from: null, to: c.aarch64 },
    ]);
    // Without a baseUrl the metadata points at the local files.
    const metadata = JSON.parse(readFileSync(metadataPath, 'utf8'));
    expect(metadata.architectures.x86_64.ostree.commit).toBe(c.x86_64);
    expect(metadata.architectures.x86_64.artifacts.qemu.formats.qcow2.disk.location).toBe(`/var/lib/relengd/jobs/artifact-x86_64/out/fedora-atomic-${V1}.x86_64.qcow2`);
  });

  it('a newer candidate descending from the released one is a fast-forward, with a static delta from the previous release', async () => {
    const first = await firstRelease();
    const c2 = await candidates(V2);
    for (const arch of ARCHES) expect(await repo.parentOf(c2[arch])).toBe(first.candidates[arch]);

    const outcome = await promote(spec(V2, c2, { deltas: true }));

    expect(outcome.state).toBe('succeeded');
    const released = await releaseRefs();
    const deltas = await repo.listStaticDeltas();
    for (const arch of ARCHES) {
      const to = released[arch]!;
      expect(await repo.sameTree(to, c2[arch])).toBe(true);
      expect(await repo.metadata(to, SOURCE_COMMIT_KEY)).toBe(c2[arch]);
      // The release ref's history is the releases: the new promotion commit's parent is the previous one.
      expect(await repo.parentOf(to)).toBe(first.released[arch]);
      expect(deltas).toContainEqual({ from: first.released[arch], to });
    }
    expect(only(outcome, 'relengd.release.promoted').refs).toEqual(
      ARCHES.map((arch) => ({ ref: releaseRef(arch), arch, from: first.released[arch], to: released[arch] })),
    );
    expect(JSON.parse(readFileSync(metadataPath, 'utf8')).architectures.aarch64.ostree.commit).toBe(released.aarch64);
  });

  it('a candidate that does not descend from the release is refused not-fast-forward and no ref moves; with force it is promoted', async () => {
    const first = await firstRelease();
    // x86_64 moves on normally; aarch64's updates ref was rebuilt from scratch (a new root commit).
    const c2 = { x86_64: await candidate('x86_64', V2), aarch64: await candidate('aarch64', V2, { parent: 'none' }) };
    const metadataBefore = readFileSync(metadataPath, 'utf8');

    const refused = await promote(spec(V2, c2));

    expect(refused.state).toBe('failed');
    expect(refused.error).toContain('not-fast-forward');
    const data = only(refused, 'relengd.release.promotion.refused');
    expect(data).toMatchObject({ group: GROUP, version: V2, reason: 'not-fast-forward' });
    expect(data.detail).toContain(releaseRef('aarch64'));
    expect(await releaseRefs()).toEqual(first.released);
    expect(summaryRefs(repoPath)).toMatchObject({ [releaseRef('x86_64')]: first.released.x86_64, [releaseRef('aarch64')]: first.released.aarch64 });
    expect(readFileSync(metadataPath, 'utf8')).toBe(metadataBefore);

    const forced = await promote(spec(V2, c2, { force: true, requestedBy: 'releng-lead' }));

    expect(forced.state).toBe('succeeded');
    expect(only(forced, 'relengd.release.promoted')).toMatchObject({ forced: true });
    const released = await releaseRefs();
    for (const arch of ARCHES) {
      expect(released[arch]).not.toBe(first.released[arch]);
      expect(await repo.sameTree(released[arch]!, c2[arch])).toBe(true);
      expect(await repo.metadata(released[arch]!, SOURCE_COMMIT_KEY)).toBe(c2[arch]);
    }
  });

  describe('a release ref moved by someone else between the check and the move', () => {
    /**
     * An executor whose repository, right after the command that writes the x86_64 release ref has
     * run (once), points the aarch64 release ref at `other` with a real ostree command.
     */
    function racingExecutor(other: string) {
      let fired = false;
      const run: Run = async (argv) => {
        const result = await execRun(argv);
        if (!fired && argv.includes(`--create=${releaseRef('x86_64')}`)) {
          fired = true;
          execFileSync('ostree', ['refs', `--repo=${repoPath}`, '--force', `--create=${releaseRef('aarch64')}`, other]);
        }
        return result;
      };
      return promoteExecutor({ openRepo: (path) => openRepo(path, run), generator: GENERATOR });
    }

    it('refuses ref-moved: the first ref is rolled back to the previous release and the other writer keeps the second', async () => {
      const first = await firstRelease();
      const c2 = await candidates(V2);
      const other = await someoneElsesCommit();

      const outcome = await promote(spec(V2, c2), { executor: racingExecutor(other) });

      expect(outcome.state).toBe('failed');
      expect(outcome.error).toContain('ref-moved');
      const data = only(outcome, 'relengd.release.promotion.refused');
      expect(data).toMatchObject({ reason: 'ref-moved', version: V2 });
      expect(data.detail).toContain(releaseRef('aarch64'));
      expect(await releaseRefs()).toEqual({ x86_64: first.released.x86_64, aarch64: other });
      expect(summaryRefs(repoPath)[releaseRef('x86_64')]).toBe(first.released.x86_64);
    });

    it('refuses ref-moved: a first ref that did not exist is deleted again', async () => {
      const c = await candidates(V1);
      const other = await someoneElsesCommit();

      const outcome = await promote(spec(V1, c), { executor: racingExecutor(other) });

      expect(outcome.state).toBe('failed');
      expect(only(outcome, 'relengd.release.promotion.refused')).toMatchObject({ reason: 'ref-moved' });
      expect(await repo.hasRef(releaseRef('x86_64'))).toBe(false);
      expect(await repo.revParse(releaseRef('aarch64'))).toBe(other);
      expect(existsSync(metadataPath)).toBe(false);
    });
  });

  it('a failure after the refs moved (stream metadata cannot be written) rolls both refs back and refuses promotion-failed', async () => {
    const first = await firstRelease();
    const metadataBefore = readFileSync(metadataPath, 'utf8');
    const c2 = await candidates(V2);
    const blocker = join(tmp, 'not-a-directory');
    writeFileSync(blocker, '');

    const outcome = await promote(spec(V2, c2, { metadata: join(blocker, 'streams', `${GROUP}.json`) }));

    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('promotion-failed');
    expect(only(outcome, 'relengd.release.promotion.refused')).toMatchObject({ reason: 'promotion-failed', version: V2 });
    expect(await releaseRefs()).toEqual(first.released);
    // Clients reading the summary are not told about the rolled-back commits either.
    expect(summaryRefs(repoPath)).toMatchObject({ [releaseRef('x86_64')]: first.released.x86_64, [releaseRef('aarch64')]: first.released.aarch64 });
    expect(readFileSync(metadataPath, 'utf8')).toBe(metadataBefore);
  });

  it('a failure after the refs moved in the first promotion deletes the refs again', async () => {
    const c = await candidates(V1);
    const blocker = join(tmp, 'not-a-directory');
    writeFileSync(blocker, '');

    const outcome = await promote(spec(V1, c, { metadata: join(blocker, `${GROUP}.json`) }));

    expect(only(outcome, 'relengd.release.promotion.refused')).toMatchObject({ reason: 'promotion-failed' });
    expect(await releaseRefs()).toEqual({ x86_64: null, aarch64: null });
    expect(Object.keys(summaryRefs(repoPath))).not.toContain(releaseRef('x86_64'));
  });

  describe('a signed summary', () => {
    /** A GPG home under the test's temp dir; its agent is stopped after the test. */
    function gpgHome(): string {
      const home = join(tmp, 'gnupg');
      mkdirSync(home, { mode: 0o700 });
      onTestFinished(() => void spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' }));
      return home;
    }

    it.skipIf(!HAS_GPG)(`with a signing key the promotion leaves a signed summary (summary.sig)${HAS_GPG ? '' : ' (skipped: no gpg on this machine)'}`, async () => {
      const home = gpgHome();
      const gpg = (...args: string[]) => execFileSync('gpg', ['--homedir', home, '--batch', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      gpg('--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'relengd release <releng@example.invalid>', 'ed25519', 'sign', 'never');
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--list-keys', '--with-colons'))![1]!;
      const c = await candidates(V1);

      const outcome = await promote(spec(V1, c, { summary: { gpgKey: fingerprint, gpgHome: home } }));

      expect(outcome.state).toBe('succeeded');
      expect(existsSync(join(repoPath, 'summary.sig'))).toBe(true);
    });

    it.skipIf(!HAS_GPG)(`a summary that cannot be signed (key not in the keyring) rolls both refs back and refuses promotion-failed${HAS_GPG ? '' : ' (skipped: no gpg on this machine)'}`, async () => {
      const first = await firstRelease();
      const c2 = await candidates(V2);

      const outcome = await promote(spec(V2, c2, { summary: { gpgKey: 'DEADBEEFDEADBEEF', gpgHome: gpgHome() } }));

      expect(outcome.state).toBe('failed');
      expect(only(outcome, 'relengd.release.promotion.refused')).toMatchObject({ reason: 'promotion-failed' });
      expect(await releaseRefs()).toEqual(first.released);
      expect(summaryRefs(repoPath)).toMatchObject({ [releaseRef('x86_64')]: first.released.x86_64, [releaseRef('aarch64')]: first.released.aarch64 });
    });
  });

  it('re-running a promotion whose refs already moved (crash after the move) succeeds without new commits and reports the same targets', async () => {
    const c = await candidates(V1);
    const workdir = newWorkdir(tmp);
    const s = spec(V1, c, { deltas: true });
    expect((await promote(s, { workdir })).state).toBe('succeeded');
    const released = await releaseRefs();
    const commits = commitObjectCount(repoPath);
    // The crash came before the stream metadata was written.
    rmSync(metadataPath);

    const outcome = await promote(s, { workdir, recovering: true });

    expect(outcome.state).toBe('succeeded');
    expect(await releaseRefs()).toEqual(released);
    expect(commitObjectCount(repoPath)).toBe(commits);
    expect(only(outcome, 'relengd.release.promoted').refs).toEqual(ARCHES.map((arch) => ({ ref: releaseRef(arch), arch, from: null, to: released[arch] })));
    expect(outcome.emit[0]!.key).toBe('promoted');
    const metadata = JSON.parse(readFileSync(metadataPath, 'utf8'));
    for (const arch of ARCHES) expect(metadata.architectures[arch].ostree.commit).toBe(released[arch]);
  });

  it('an attempt whose refs another attempt of the job already moved to its own release commits of the same candidate takes those moves: no second release, release.promoted names them', async () => {
    const first = await firstRelease();
    const c2 = await candidates(V2);
    const releaseCommitOf = (arch: Arch, subject: string): Promise<string> =>
      repo.commit({ tree: { commit: c2[arch] }, orphan: true, parent: first.released[arch], bindRefs: [releaseRef(arch)], subject, metadata: { version: V2, [SOURCE_COMMIT_KEY]: c2[arch] } });
    // This attempt planned its moves (and made its release commits) while the other attempt, whose
    // lease had lapsed but which still ran, was planning; then the other one moved the refs.
    const workdir = newWorkdir(tmp);
    const planned = { x86_64: await releaseCommitOf('x86_64', 'this attempt'), aarch64: await releaseCommitOf('aarch64', 'this attempt') };
    writeFileSync(join(workdir, 'plan.json'), JSON.stringify(ARCHES.map((arch) => ({ ref: releaseRef(arch), from: first.released[arch], to: planned[arch] }))));
    const theirs = { x86_64: await releaseCommitOf('x86_64', 'the other attempt'), aarch64: await releaseCommitOf('aarch64', 'the other attempt') };
    for (const arch of ARCHES) execFileSync('ostree', ['refs', `--repo=${repoPath}`, '--force', `--create=${releaseRef(arch)}`, theirs[arch]]);
    expect(theirs.x86_64).not.toBe(planned.x86_64);

    const outcome = await promote(spec(V2, c2), { workdir, recovering: true });

    expect(outcome.state).toBe('succeeded');
    expect(await releaseRefs()).toEqual(theirs);
    expect(only(outcome, 'relengd.release.promoted').refs).toEqual(ARCHES.map((arch) => ({ ref: releaseRef(arch), arch, from: first.released[arch], to: theirs[arch] })));
    expect(JSON.parse(readFileSync(metadataPath, 'utf8')).architectures.x86_64.ostree.commit).toBe(theirs.x86_64);
  });

  it('a ref another writer moved to a release of a different candidate is still refused ref-moved', async () => {
    const first = await firstRelease();
    const c2 = await candidates(V2);
    const workdir = newWorkdir(tmp);
    const s = spec(V2, c2);
    // The plan of an attempt that made its release commits, then another candidate was released by hand.
    expect((await promote(s, { workdir })).state).toBe('succeeded');
    const plan = readFileSync(join(workdir, 'plan.json'), 'utf8');
    const c3 = await candidates('V3-by-hand');
    for (const arch of ARCHES) {
      const byHand = await repo.commit({ tree: { commit: c3[arch] }, orphan: true, parent: first.released[arch], bindRefs: [releaseRef(arch)], subject: 'by hand', metadata: { [SOURCE_COMMIT_KEY]: c3[arch] } });
      execFileSync('ostree', ['refs', `--repo=${repoPath}`, '--force', `--create=${releaseRef(arch)}`, byHand]);
    }
    const before = await releaseRefs();
    writeFileSync(join(workdir, 'plan.json'), plan);

    const outcome = await promote(s, { workdir, recovering: true });

    expect(outcome.state).toBe('failed');
    expect(only(outcome, 'relengd.release.promotion.refused')).toMatchObject({ reason: 'ref-moved' });
    expect(await releaseRefs()).toEqual(before);
  });

  it('a crash between the two ref moves is completed by the re-run: both arches end on the release', async () => {
    const c = await candidates(V1);
    const workdir = newWorkdir(tmp);
    await crashRightAfterMoving(releaseRef('x86_64'), spec(V1, c), workdir);
    const half = await releaseRefs();
    expect(half.aarch64).toBeNull();

    const outcome = await promote(spec(V1, c), { workdir, recovering: true });

    expect(outcome.state).toBe('succeeded');
    const released = await releaseRefs();
    expect(released.x86_64).toBe(half.x86_64);
    for (const arch of ARCHES) {
      expect(await repo.sameTree(released[arch]!, c[arch])).toBe(true);
      expect(await repo.refBindings(released[arch]!)).toEqual([releaseRef(arch)]);
    }
    expect(JSON.parse(readFileSync(metadataPath, 'utf8')).architectures.aarch64.ostree.commit).toBe(released.aarch64);
  });

  // Regression: the re-run used to lose each ref's `from` (both moves looked done) and skipped the
  // deltas; the plan kept in the job directory now carries it across the crash.
  it('re-running a promotion interrupted after its ref moves still generates the static deltas from the previous release', async () => {
    const first = await firstRelease();
    const c2 = await candidates(V2);
    const workdir = newWorkdir(tmp);
    const s = spec(V2, c2, { deltas: true });
    await crashRightAfterMoving(releaseRef('aarch64'), s, workdir);
    const moved = await releaseRefs();
    for (const arch of ARCHES) expect(await repo.parentOf(moved[arch]!)).toBe(first.released[arch]);

    const outcome = await promote(s, { workdir, recovering: true });

    expect(outcome.state).toBe('succeeded');
    expect(await releaseRefs()).toEqual(moved);
    const deltas = await repo.listStaticDeltas();
    for (const arch of ARCHES) expect(deltas).toContainEqual({ from: first.released[arch], to: moved[arch] });
  });

  // Regression: all or nothing across a crash. The rollback used to cover only the refs moved by
  // the current attempt, leaving the arches split; it now undoes every ref the plan moved.
  it('a re-run after a crash between the ref moves that then fails rolls back the ref the crashed attempt moved too', async () => {
    const first = await firstRelease();
    const metadataBefore = readFileSync(metadataPath, 'utf8');
    const c2 = await candidates(V2);
    const workdir = newWorkdir(tmp);
    await crashRightAfterMoving(releaseRef('x86_64'), spec(V2, c2), workdir);
    expect((await releaseRefs()).x86_64).not.toBe(first.released.x86_64);
    const blocker = join(tmp, 'not-a-directory');
    writeFileSync(blocker, '');

    const outcome = await promote(spec(V2, c2, { metadata: join(blocker, `${GROUP}.json`) }), { workdir, recovering: true });

    expect(only(outcome, 'relengd.release.promotion.refused')).toMatchObject({ reason: 'promotion-failed' });
    expect(readFileSync(metadataPath, 'utf8')).toBe(metadataBefore);
    expect(await releaseRefs()).toEqual(first.released);
  });
});
