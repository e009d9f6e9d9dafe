/**
 * The container-image executors against a real OSTree repository and a real registry on loopback:
 * an `oci` artifact built from its commit and pushed by digest, the manifest list over the arches,
 * and a promotion that moves the release tag with the refs, by digest, all or nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactSummary } from '../../../src/events/relengd/artifact.ts';
import type { JobOutcome } from '../../../src/jobs/executor.ts';
import { artifactExecutor } from '../../../src/jobs/executors/artifact.ts';
import { imageIndexExecutor } from '../../../src/jobs/executors/image-index.ts';
import { promoteExecutor } from '../../../src/jobs/executors/promote.ts';
import type { ArtifactJobSpec, PromoteJobSpec } from '../../../src/jobs/specs.ts';
import { execRun, openRepo, type OstreeRepo, type Run } from '../../../src/ostree/index.ts';
import { Registry } from '../../../src/registry/index.ts';
import { executorContext, newWorkdir, node } from '../../helpers/executor-context.ts';
import { STANDIN_OCI, registryToolsMissingReason, startRegistry, type RunningRegistry } from '../../helpers/registry.ts';

const skip = registryToolsMissingReason !== undefined;
const suffix = skip ? ` (skipped: ${registryToolsMissingReason})` : '';
const HAS_GPG = spawnSync('gpg', ['--version']).status === 0;
/** Each version builds two images and a list on a shared machine: seconds each. */
const SLOW = { timeout: 180_000 };

const ARCHES = ['x86_64', 'aarch64'] as const;
type Arch = (typeof ARCHES)[number];
const GROUP = 'f41-bootc';
const V1 = '41.20261126.0';
const V2 = '41.20261210.0';
const updatesRef = (arch: Arch) => `fedora/41/${arch}/updates/bootc`;
const releaseRef = (arch: Arch) => `fedora/41/${arch}/bootc`;

let registryDir: string;
let registry: RunningRegistry;
let repositories = 0;
beforeAll(async () => {
  if (skip) return;
  registryDir = mkdtempSync(join(tmpdir(), 'relengd-image-registry-'));
  registry = await startRegistry(registryDir);
});
afterAll(async () => {
  if (skip) return;
  await registry.stop();
  rmSync(registryDir, { recursive: true, force: true });
});

let tmp: string;
let repo: OstreeRepo;
let repository: string;
let os: Registry;
beforeEach(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'relengd-image-'));
  repo = openRepo(join(tmp, 'repo'));
  await repo.init('archive');
  // A repository of its own per test: tags of one test never meet another's.
  repository = registry.repository(`fedora/bootc-${repositories++}`);
  os = new Registry({ repository, tlsVerify: false });
});
afterEach(() => {
  if (!skip) rmSync(tmp, { recursive: true, force: true });
});

let trees = 0;
async function candidate(arch: Arch, version: string): Promise<string> {
  const dir = join(tmp, 'trees', `t${trees++}`);
  mkdirSync(join(dir, 'usr/lib'), { recursive: true });
  writeFileSync(join(dir, 'usr/lib/os-release'), `NAME="Fedora"\nVERSION="${version} (bootc)"\nARCH=${arch}\n`);
  return repo.commit({ tree: { dir }, branch: updatesRef(arch), subject: `${updatesRef(arch)} ${version}`, metadata: { version } });
}

function artifactSpec(arch: Arch, commit: string, version: string, command?: string[]): ArtifactJobSpec {
  return {
    composeId: `${GROUP}-${version}-${arch}`,
    stream: `${GROUP}-${arch}`,
    commit,
    version,
    name: 'bootc',
    kind: 'oci',
    platform: 'bootc',
    format: 'oci',
    failable: false,
    arch,
    group: GROUP,
    release: '41',
    repo: repo.path,
    ref: updatesRef(arch),
    output: '{outputDir}/image',
    command: command ?? [node, STANDIN_OCI, '--repo={repo}', '--commit={commit}', '--arch={arch}', '--out={outputDir}/image'],
    oci: { repository, tag: '{version}-{arch}', tlsVerify: false },
  };
}

async function buildImage(spec: ArtifactJobSpec): Promise<JobOutcome> {
  return artifactExecutor().execute(executorContext({ kind: 'artifact', spec, workdir: newWorkdir(tmp) }));
}

/** The artifact as the compose's join keeps it: the common fields only (the digest is in path and sha256). */
function summaryOf(outcome: JobOutcome): ArtifactSummary {
  expect(outcome.state, outcome.error).toBe('succeeded');
  const { name, kind, platform, format, path, sha256, size } = outcome.emit[0]!.data as ArtifactSummary;
  return { name, kind, platform, format, path, sha256, size };
}

const digestOf = (summary: ArtifactSummary) => `sha256:${summary.sha256}`;

/** One version of the group: a commit and a pushed image per arch, and the list over them. */
async function release(version: string): Promise<{ commits: Record<Arch, string>; images: Record<Arch, ArtifactSummary>; list: string }> {
  const commits = { x86_64: await candidate('x86_64', version), aarch64: await candidate('aarch64', version) };
  const [x86_64, aarch64] = await Promise.all(ARCHES.map((arch) => buildImage(artifactSpec(arch, commits[arch], version))));
  const images = { x86_64: summaryOf(x86_64!), aarch64: summaryOf(aarch64!) };
  const outcome = await imageIndexExecutor().execute(
    executorContext({
      kind: 'image-index',
      spec: { group: GROUP, version, name: 'bootc', repository, tlsVerify: false, tag: version, images: ARCHES.map((arch) => ({ arch, stream: `${GROUP}-${arch}`, digest: digestOf(images[arch]) })) },
      workdir: newWorkdir(tmp),
    }),
  );
  expect(outcome.state, outcome.error).toBe('succeeded');
  return { commits, images, list: (outcome.emit[0]!.data as { digest: string }).digest };
}

function promoteSpec(version: string, r: Awaited<ReturnType<typeof release>>, overrides: Partial<PromoteJobSpec> = {}): PromoteJobSpec {
  return {
    group: GROUP,
    version,
    force: false,
    requestedBy: null,
    targets: ARCHES.map((arch) => ({ arch, stream: `${GROUP}-${arch}`, repo: repo.path, sourceRef: updatesRef(arch), ref: releaseRef(arch), commit: r.commits[arch], composeId: `${GROUP}-${version}-${arch}`, artifacts: [r.images[arch]] })),
    images: [{ name: 'bootc', repository, tlsVerify: false, listTag: version, releaseTag: 'stable' }],
    summary: { gpgKey: null },
    deltas: false,
    metadata: join(tmp, 'streams', `${GROUP}.json`),
    baseUrl: null,
    ...overrides,
  };
}

const executor = promoteExecutor({ openRepo: (path) => openRepo(path), generator: 'relengd (test)' });

function promote(spec: PromoteJobSpec, opts: { executor?: typeof executor; workdir?: string; recovering?: boolean } = {}): Promise<JobOutcome> {
  return (opts.executor ?? executor).execute(executorContext({ kind: 'promote', spec, workdir: opts.workdir ?? newWorkdir(tmp), recovering: opts.recovering ?? false, id: `promote-${spec.version}` }));
}

async function releaseRefs(): Promise<Record<Arch, string | null>> {
  return { x86_64: await repo.revParse(releaseRef('x86_64')), aarch64: await repo.revParse(releaseRef('aarch64')) };
}

describe.skipIf(skip)(`oci artifacts and the manifest list${suffix}`, () => {
  it('builds the image from the commit, pushes it under its arch tag and reports it by digest', SLOW, async () => {
    const commit = await candidate('aarch64', V1);
    const outcome = await buildImage(artifactSpec('aarch64', commit, V1));
    expect(outcome.state, outcome.error).toBe('succeeded');
    const data = outcome.emit[0]!.data as Record<string, unknown>;
    const digest = await os.tagDigest(`${V1}-aarch64`);
    expect(data).toMatchObject({ name: 'bootc', kind: 'oci', commit, digest, path: `${repository}@${digest}`, sha256: digest!.slice('sha256:'.length), tag: `${V1}-aarch64` });
    expect(data.size).toBeGreaterThan(0);
    expect(await os.imageConfig(digest!)).toMatchObject({ architecture: 'arm64', labels: { 'ostree.commit': commit } });
  });

  it('fails an image that is not of its commit, one for another arch, and a builder that left no image', SLOW, async () => {
    const commit = await candidate('x86_64', V1);
    const other = await candidate('x86_64', V2);
    const stranger = await buildImage(artifactSpec('x86_64', commit, V1, [node, STANDIN_OCI, '--repo={repo}', `--commit=${other}`, '--arch={arch}', '--out={outputDir}/image']));
    expect(stranger.state).toBe('failed');
    expect(stranger.error).toBe(`the image is not of commit ${commit}: its ostree.commit label is ${other}`);
    expect(stranger.emit.map((e) => e.topic)).toEqual(['relengd.artifact.build.failed']);
    const wrongArch = await buildImage(artifactSpec('x86_64', commit, V1, [node, STANDIN_OCI, '--repo={repo}', '--commit={commit}', '--arch=aarch64', '--out={outputDir}/image']));
    expect(wrongArch.error).toBe('the image is for arm64, not amd64 (x86_64)');
    const nothing = await buildImage(artifactSpec('x86_64', commit, V1, ['true']));
    expect(nothing.error).toMatch(/^the builder left no OCI image layout at .*\/out\/image$/);
  });

  it('pushes one list over the arches: relengd.image.index.finished with its digest', SLOW, async () => {
    const r = await release(V1);
    expect(await os.tagDigest(V1)).toBe(r.list);
    const list = await os.manifest({ digest: r.list });
    expect(list?.kind === 'index' && list.manifests.map((m) => [m.platform?.architecture, m.digest])).toEqual([
      ['amd64', digestOf(r.images.x86_64)],
      ['arm64', digestOf(r.images.aarch64)],
    ]);
  });
});

describe.skipIf(skip)(`promotion of a container-image stream${suffix}`, () => {
  it('moves the refs and the stable tag to the tested list by digest, and writes the image into the stream metadata', SLOW, async () => {
    const r = await release(V1);
    const outcome = await promote(promoteSpec(V1, r));
    expect(outcome.state, outcome.error).toBe('succeeded');
    expect(await os.tagDigest('stable')).toBe(r.list);
    const refs = await releaseRefs();
    expect(refs.x86_64).not.toBeNull();
    expect(outcome.emit[0]!.data).toMatchObject({ images: [{ name: 'bootc', repository, tag: 'stable', from: null, to: r.list }] });
    const metadata = JSON.parse(readFileSync(join(tmp, 'streams', `${GROUP}.json`), 'utf8')) as { architectures: Record<string, unknown> };
    expect(metadata.architectures.aarch64).toMatchObject({ artifacts: {}, images: { bootc: { release: V1, image: `${repository}:stable`, 'digest-ref': `${repository}@${digestOf(r.images.aarch64)}` } } });

    // The next version moves it on, from where it was.
    const r2 = await release(V2);
    const next = await promote(promoteSpec(V2, r2));
    expect(next.state, next.error).toBe('succeeded');
    expect(next.emit[0]!.data).toMatchObject({ images: [{ tag: 'stable', from: r.list, to: r2.list }] });
    expect(await os.tagDigest('stable')).toBe(r2.list);
  });

  it('refuses when the release tag moved since the plan: nothing is promoted, the refs go back and the tag stays where someone put it', SLOW, async () => {
    const r = await release(V1);
    const spec = promoteSpec(V1, r);
    const workdir = newWorkdir(tmp);
    // Attempt 1 plans (the tag is absent), moves the x86_64 ref and dies.
    let crashed!: () => void;
    const crash = new Promise<void>((resolve) => (crashed = resolve));
    let dead = false;
    const dying: Run = async (argv) => {
      if (dead) return new Promise(() => undefined);
      const result = await execRun(argv);
      if (argv.includes(`--create=${releaseRef('x86_64')}`)) {
        dead = true;
        crashed();
      }
      return result;
    };
    void promote(spec, { executor: promoteExecutor({ openRepo: (path) => openRepo(path, dying), generator: 'relengd (test)' }), workdir });
    await crash;
    expect(existsSync(join(workdir, 'image-plan.json'))).toBe(true);

    // Meanwhile someone points stable at the x86_64 image alone.
    await os.tagDigestAs(digestOf(r.images.x86_64), 'stable');

    const outcome = await promote(spec, { workdir, recovering: true });
    expect(outcome.state).toBe('failed');
    expect(outcome.emit.map((e) => e.topic)).toEqual(['relengd.release.promotion.refused']);
    expect(outcome.emit[0]!.data).toMatchObject({ reason: 'ref-moved', detail: `moving ${repository}:stable: ref ${repository}:stable moved: expected (absent), found ${digestOf(r.images.x86_64)}; nothing was promoted` });
    expect(await releaseRefs()).toEqual({ x86_64: null, aarch64: null });
    expect(await os.tagDigest('stable')).toBe(digestOf(r.images.x86_64));
  });

  it('refuses a list that is not over the tested images, and moves nothing', SLOW, async () => {
    const r = await release(V1);
    // The version's list tag now names a list over other images (a rebuild nobody tested).
    const r2 = await release(V2);
    await os.tagDigestAs(r2.list, V1);
    const outcome = await promote(promoteSpec(V1, r));
    expect(outcome.state).toBe('failed');
    expect(outcome.emit[0]!.data).toMatchObject({ reason: 'promotion-failed' });
    expect((outcome.emit[0]!.data as { detail: string }).detail).toContain(`${repository}:${V1} (${r2.list}) covers`);
    expect(await releaseRefs()).toEqual({ x86_64: null, aarch64: null });
    expect(await os.tagDigest('stable')).toBeNull();
  });

  it.skipIf(!HAS_GPG)(`a failure after the tag moved (the summary cannot be signed) puts the tag back with the refs${HAS_GPG ? '' : ' (skipped: no gpg on this machine)'}`, SLOW, async () => {
    const r = await release(V1);
    expect((await promote(promoteSpec(V1, r))).state).toBe('succeeded');
    const before = await releaseRefs();
    const r2 = await release(V2);
    const gpgHome = join(tmp, 'empty-gnupg');
    mkdirSync(gpgHome, { mode: 0o700 });
    const outcome = await promote(promoteSpec(V2, r2, { summary: { gpgKey: 'DEADBEEFDEADBEEF', gpgHome } }));
    expect(outcome.state).toBe('failed');
    expect(outcome.emit[0]!.data).toMatchObject({ reason: 'promotion-failed' });
    expect(await releaseRefs()).toEqual(before);
    expect(await os.tagDigest('stable')).toBe(r.list);
  });
});
