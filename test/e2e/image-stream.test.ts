/**
 * A container-image stream end to end, on the demo's pipeline (real OSTree repository, stand-in
 * builders) and a real registry on loopback: each arch's commit becomes an OCI image pushed by
 * digest, one manifest list covers both arches once both are in, and the gated promotion moves the
 * `stable` tag to exactly that list's digest with the refs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/cli/daemon.ts';
import { DEMO_ARCHES, DEMO_VERSION } from '../../src/cli/demo/scenario.ts';
import { Registry } from '../../src/registry/index.ts';
import { node } from '../helpers/executor-context.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { STANDIN_OCI, registryToolsMissingReason, startRegistry, type RunningRegistry } from '../helpers/registry.ts';
import { tempDir } from '../helpers/tmp.ts';

const skip = registryToolsMissingReason !== undefined;
const suffix = skip ? ` (skipped: ${registryToolsMissingReason})` : '';

let registryDir: string;
let registry: RunningRegistry;
let daemon: Daemon | undefined;
// One registry for the file, outliving each test's directory.
beforeAll(async () => {
  if (skip) return;
  registryDir = mkdtempSync(join(tmpdir(), 'relengd-e2e-registry-'));
  registry = await startRegistry(registryDir);
});
afterAll(async () => {
  if (skip) return;
  await registry.stop();
  rmSync(registryDir, { recursive: true, force: true });
});
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

/**
 * Adds a bootc-style image to each demo stream (the demo's streams come in DEMO_ARCHES order): built
 * from the commit, pushed to the loopback registry; its builder fails on the arches in `failOn`.
 */
const withImage = (repository: string, options: { failOn?: string[]; failable?: boolean } = {}) => (yaml: string) => {
  let stream = 0;
  return yaml.replace(/    artifacts:\n/g, () => {
    const arch = DEMO_ARCHES[stream++]!;
    const command = [node, STANDIN_OCI, '--repo={repo}', '--commit={commit}', '--arch={arch}', '--out={outputDir}/image', ...(options.failOn?.includes(arch) ? ['--fail'] : [])];
    return `    artifacts:
      - name: bootc
        kind: oci
        platform: bootc
        format: oci
        failable: ${options.failable ?? false}
        output: "{outputDir}/image"
        command: ${JSON.stringify(command)}
        oci: { repository: ${repository}, tag: "{version}-{arch}", listTag: "{version}", releaseTag: stable, tlsVerify: false }
`;
  });
};

describe.skipIf(skip)(`a container-image stream on a loopback registry${suffix}`, () => {
  it('builds both arches from their commits, pushes one manifest list over them, and promotes stable to exactly the tested list', { timeout: 120_000 }, async () => {
    const repository = registry.repository('fedora/atomic-host');
    const dir = tempDir();
    const p = await startPipeline(dir, withImage(repository));
    daemon = p.daemon;
    const os = new Registry({ repository, tlsVerify: false });

    await p.feed(0); // Bodhi: compose both arches, build their artifacts
    const images = p.events('relengd.artifact.build.finished').filter((a) => a.kind === 'oci');
    expect(images.map((a) => a.stream).sort()).toEqual(['f26-atomic-host-aarch64', 'f26-atomic-host-x86_64']);
    const composes = p.events('relengd.ostree.compose.finished');
    for (const image of images) {
      const digest = image.digest as string;
      expect(image.path).toBe(`${repository}@${digest}`);
      expect(image.sha256).toBe(digest.slice('sha256:'.length));
      // Each image is its own arch's commit, as the registry serves it.
      const commit = composes.find((c) => c.stream === image.stream)!.commit;
      expect(image.commit).toBe(commit);
      expect((await os.imageConfig(digest)).labels['ostree.commit']).toBe(commit);
      expect(await os.tagDigest(`${DEMO_VERSION}-${image.stream === 'f26-atomic-host-x86_64' ? 'x86_64' : 'aarch64'}`)).toBe(digest);
    }

    // One list over both arches, pushed once both were in: what the testers pull.
    const [index, ...more] = p.events('relengd.image.index.finished');
    expect(more).toEqual([]);
    expect(index).toMatchObject({ group: 'f26-atomic-host', version: DEMO_VERSION, name: 'bootc', repository, tag: DEMO_VERSION });
    const tested = index!.digest as string;
    expect(await os.tagDigest(DEMO_VERSION)).toBe(tested);
    const digestOf = (stream: string) => images.find((a) => a.stream === stream)!.digest;
    expect(index!.manifests).toEqual([
      { arch: 'x86_64', digest: digestOf('f26-atomic-host-x86_64') },
      { arch: 'aarch64', digest: digestOf('f26-atomic-host-aarch64') },
    ]);
    expect(await os.tagDigest('stable')).toBeNull(); // nothing released yet

    await p.feed(2); // Greenwave: the gate holds, the group is promoted
    const [promoted] = p.events('relengd.release.promoted');
    expect(promoted).toMatchObject({ version: DEMO_VERSION, images: [{ name: 'bootc', repository, tag: 'stable', from: null, to: tested }] });
    for (const ref of promoted!.refs as Array<{ ref: string; to: string }>) expect(await p.repo.revParse(ref.ref)).toBe(ref.to);
    expect(await os.tagDigest('stable')).toBe(tested);
    const stable = await os.manifest({ tag: 'stable' });
    expect(stable?.kind === 'index' && stable.manifests.map((m) => m.digest)).toEqual([digestOf('f26-atomic-host-x86_64'), digestOf('f26-atomic-host-aarch64')]);

    // The stream metadata names the image to follow and each arch's image by digest.
    const metadata = JSON.parse(readFileSync(join(dir, 'streams', 'f26-atomic-host.json'), 'utf8')) as { architectures: Record<string, { images?: Record<string, unknown>; artifacts: Record<string, unknown> }> };
    expect(metadata.architectures.x86_64!.images).toEqual({ bootc: { release: DEMO_VERSION, image: `${repository}:stable`, 'digest-ref': `${repository}@${digestOf('f26-atomic-host-x86_64')}` } });
    expect(metadata.architectures.aarch64!.images).toEqual({ bootc: { release: DEMO_VERSION, image: `${repository}:stable`, 'digest-ref': `${repository}@${digestOf('f26-atomic-host-aarch64')}` } });
    expect(Object.keys(metadata.architectures.x86_64!.artifacts).sort()).toEqual(['metal', 'qemu']);
  });

  it('pushes no manifest list, and leaves the release tag alone, when one arch has no image (all arches or none)', { timeout: 120_000 }, async () => {
    const repository = registry.repository('fedora/half');
    const p = await startPipeline(tempDir(), withImage(repository, { failOn: ['aarch64'], failable: true }));
    daemon = p.daemon;
    await p.feed(0);
    expect(p.events('relengd.artifact.build.failed').filter((a) => a.kind === 'oci').map((a) => a.stream)).toEqual(['f26-atomic-host-aarch64']);
    expect(p.events('relengd.image.index.finished')).toEqual([]);
    expect(p.daemon.store.jobs.list({ kind: 'image-index' })).toEqual([]);

    await p.feed(2);
    const [promoted] = p.events('relengd.release.promoted');
    expect(promoted).toMatchObject({ version: DEMO_VERSION, images: [] });
    expect(await new Registry({ repository, tlsVerify: false }).tagDigest('stable')).toBeNull();
  });
});
