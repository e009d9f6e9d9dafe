/**
 * The registry wrappers (skopeo, umoci, buildah) against a real registry on loopback and a real
 * OSTree repository: an image built from a commit, pushed and read back by digest, a tag moved by
 * digest, a manifest list over two arches.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolMissingError } from '../../../src/errors.ts';
import { openRepo, type OstreeRepo } from '../../../src/ostree/index.ts';
import { InvalidImageReferenceError, MEDIA_TYPES, Registry, buildImageFromLayer, execRun, ociArchitecture, pushIndex, type Run } from '../../../src/registry/index.ts';
import { registryToolsMissingReason, startRegistry, type RunningRegistry } from '../../helpers/registry.ts';

const skip = registryToolsMissingReason !== undefined;
const suffix = skip ? ` (skipped: ${registryToolsMissingReason})` : '';

let tmp: string;
let registry: RunningRegistry;
let repo: OstreeRepo;
let commit: string;

beforeAll(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'relengd-registry-'));
  registry = await startRegistry(tmp);
  repo = openRepo(join(tmp, 'repo'));
  await repo.init('archive');
  const tree = join(tmp, 'tree');
  mkdirSync(join(tree, 'usr/lib'), { recursive: true });
  writeFileSync(join(tree, 'usr/lib/os-release'), 'NAME="Fedora"\nVERSION="41 (bootc)"\n');
  commit = await repo.commit({ tree: { dir: tree }, branch: 'fedora/41/x86_64/bootc', subject: 'bootc 41', metadata: { version: '41.20261126.0' } });
});
afterAll(async () => {
  if (skip) return;
  await registry.stop();
  rmSync(tmp, { recursive: true, force: true });
});

let images = 0;
/** An OCI layout holding the commit's image for `arch`, built as the stand-in builds it. */
async function imageOf(arch: string, labels: Record<string, string> = { 'ostree.commit': commit }): Promise<string> {
  const dir = join(tmp, `image-${images++}`);
  mkdirSync(dir);
  const layer = join(dir, 'layer.tar');
  await repo.exportTar(commit, layer);
  const entry = await repo.show(commit);
  await buildImageFromLayer({ layoutDir: join(dir, 'oci'), layerTar: layer, architecture: ociArchitecture(arch), labels, created: entry.date, createdBy: `ostree export ${commit}` });
  return join(dir, 'oci');
}

async function push(os: Registry, layout: string, tag: string): Promise<string> {
  const digestFile = join(tmp, `${tag}.digest`);
  await os.pushLayout(layout, tag, digestFile);
  return readFileSync(digestFile, 'utf8').trim();
}

describe.skipIf(skip)(`registry wrappers against docker-registry on loopback${suffix}`, () => {
  it('builds an image from a commit, pushes it by tag and reads back the same digest, arch and ostree.commit label', async () => {
    const os = new Registry({ repository: registry.repository('fedora/os'), tlsVerify: false });
    const digest = await push(os, await imageOf('x86_64'), '41-x86_64');
    const manifest = await os.manifest({ tag: '41-x86_64' });
    expect(manifest).toMatchObject({ kind: 'image', digest });
    expect(await os.manifest({ digest })).toMatchObject({ kind: 'image', digest });
    expect(await os.imageConfig(digest)).toEqual({ architecture: 'amd64', os: 'linux', labels: { 'ostree.commit': commit } });
  });

  it('makes the same image from the same commit: the digest depends on the tree, the arch and the labels only', async () => {
    const os = new Registry({ repository: registry.repository('fedora/again'), tlsVerify: false });
    const first = await push(os, await imageOf('aarch64'), 'a');
    const second = await push(os, await imageOf('aarch64'), 'b');
    const otherArch = await push(os, await imageOf('x86_64'), 'c');
    expect(second).toBe(first);
    expect(otherArch).not.toBe(first);
  });

  it('answers null for a tag or digest the registry does not have', async () => {
    const os = new Registry({ repository: registry.repository('fedora/os'), tlsVerify: false });
    expect(await os.manifest({ tag: 'no-such-tag' })).toBeNull();
    expect(await os.tagDigest('no-such-tag')).toBeNull();
    expect(await os.manifest({ digest: `sha256:${'0'.repeat(64)}` })).toBeNull();
  });

  it('pushes one OCI image index over two arches, then moves a tag to it by digest with the digest kept', async () => {
    const os = new Registry({ repository: registry.repository('fedora/multi'), tlsVerify: false });
    const amd64 = await push(os, await imageOf('x86_64'), '41-x86_64');
    const arm64 = await push(os, await imageOf('aarch64'), '41-aarch64');
    const digestFile = join(tmp, 'index.digest');
    await pushIndex({ storageDir: join(tmp, 'buildah'), repository: os.repository, digests: [amd64, arm64], tag: '41', digestFile, tlsVerify: false });
    const list = await os.manifest({ tag: '41' });
    expect(list?.kind).toBe('index');
    if (list?.kind !== 'index') return;
    expect(list.digest).toBe(readFileSync(digestFile, 'utf8').trim());
    expect(list.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(list.manifests.map((m) => [m.platform?.architecture, m.digest])).toEqual([
      ['amd64', amd64],
      ['arm64', arm64],
    ]);

    await os.tagDigestAs(list.digest, 'stable');
    expect(await os.tagDigest('stable')).toBe(list.digest);
    // The per-arch images under the moved tag are the very same ones.
    const stable = await os.manifest({ tag: 'stable' });
    expect(stable?.kind === 'index' && stable.manifests.map((m) => m.digest)).toEqual([amd64, arm64]);
  });
});

describe('registry wrappers, before anything runs', () => {
  /** A Run that records argv and fails the test if called: proves nothing ran. */
  const nothingRuns: Run = async (argv) => {
    throw new Error(`ran ${argv.join(' ')}`);
  };

  it('refuses a repository without an explicit registry host, a bad tag or digest, and runs nothing', async () => {
    expect(() => new Registry({ repository: 'fedora/os', run: nothingRuns })).toThrow(InvalidImageReferenceError);
    expect(() => new Registry({ repository: 'quay.io/Fedora/OS', run: nothingRuns })).toThrow(/lower-case/);
    const os = new Registry({ repository: 'quay.io/fedora/os', run: nothingRuns });
    await expect(os.manifest({ tag: '--all' })).rejects.toThrow(InvalidImageReferenceError);
    await expect(os.manifest({ tag: 'a:b' })).rejects.toThrow(InvalidImageReferenceError);
    await expect(os.manifest({ digest: 'sha256:abc' })).rejects.toThrow(InvalidImageReferenceError);
    await expect(pushIndex({ storageDir: '/tmp/x', repository: 'quay.io/fedora/os', digests: ['sha512:00'], tag: 'x', digestFile: '/tmp/d' }, nothingRuns)).rejects.toThrow(InvalidImageReferenceError);
    await expect(buildImageFromLayer({ layoutDir: 'relative', layerTar: '/tmp/l.tar', architecture: 'amd64', labels: {}, created: '2026-11-26T10:00:00Z', createdBy: 'x' }, nothingRuns)).rejects.toThrow(/absolute/);
  });

  it('says which package to install when a tool is missing', async () => {
    const run = execRun();
    await expect(run(['umoci', '--version'], { env: { PATH: '/nonexistent' } })).rejects.toThrow(ToolMissingError);
    await expect(run(['umoci', '--version'], { env: { PATH: '/nonexistent' } })).rejects.toThrow('umoci is not installed (apt-get install umoci / dnf install umoci)');
    await expect(run(['buildah', '--version'], { env: { PATH: '/nonexistent' } })).rejects.toThrow('buildah is not installed (apt-get install buildah / dnf install buildah)');
  });
});
