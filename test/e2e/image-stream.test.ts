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
import { DEMO_ARCHES, DEMO_GROUP, DEMO_VERSION } from '../../src/cli/demo/scenario.ts';
import { Registry } from '../../src/registry/index.ts';
import { node } from '../helpers/executor-context.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { runCli } from '../helpers/process.ts';
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
    expect(await p.daemon.store.jobs.list({ kind: 'image-index' })).toEqual([]);

    await p.feed(2);
    const [promoted] = p.events('relengd.release.promoted');
    expect(promoted).toMatchObject({ version: DEMO_VERSION, images: [] });
    expect(await new Registry({ repository, tlsVerify: false }).tagDigest('stable')).toBeNull();
  });

  /** V1, then the day's second push V2 (a new kernel: new commits, new images, a new list), each promoted by Greenwave with its tag. */
  async function twoImageReleases(name: string) {
    const repository = registry.repository(name);
    const dir = tempDir();
    const p = await startPipeline(dir, withImage(repository));
    daemon = p.daemon;
    await p.feed(0);
    await p.feed(2);
    await p.feed(0, (s) => ({
      ...s,
      prepare: { file: s.prepare!.file, content: { packages: [...(s.prepare!.content as { packages: string[] }).packages, 'kernel-4.11.9-300.fc26'] } },
      message: { ...s.message, id: 'second-push', time: '2017-07-05T18:00:00+00:00' },
    }));
    await p.feed(2, (s) => {
      const data = s.message.data as Record<string, unknown>;
      return { ...s, message: { ...s.message, id: 'gw-second', data: { ...data, subject_identifier: `${DEMO_GROUP}-${V2}`, subject: [{ 'productmd.compose.id': `${DEMO_GROUP}-${V2}` }] } } };
    });
    const promoted = p.events('relengd.release.promoted') as Array<{ version: string; refs: Array<{ ref: string; to: string }>; images: Array<{ to: string }> }>;
    expect(promoted.map((e) => e.version)).toEqual([DEMO_VERSION, V2]);
    const [v1List, v2List] = promoted.map((e) => e.images[0]!.to);
    expect(v2List).not.toBe(v1List);
    const os = new Registry({ repository, tlsVerify: false });
    expect(await os.tagDigest('stable')).toBe(v2List);
    const releaseCommits = () => Promise.all(promoted[1]!.refs.map((r) => p.repo.revParse(r.ref)));
    return { dir, p, os, repository, v1List: v1List!, v2List: v2List!, v2Commits: promoted[1]!.refs.map((r) => r.to), releaseCommits, config: join(dir, 'relengd.yaml') };
  }
  const V2 = '26.20170705.1';

  it('rolls the release tag back with the refs: stable goes back, by digest, to the manifest list the earlier version released', { timeout: 300_000 }, async () => {
    const { p, os, repository, v1List, v2List, releaseCommits, config } = await twoImageReleases('fedora/rollback');
    const asked = await runCli(['--config', config, 'rollback', '--group', DEMO_GROUP, '--wait']);
    expect(asked.code, asked.stderr + asked.stdout).toBe(0);
    const [rolledBack] = p.events('relengd.release.rolled-back') as Array<{ toVersion: string; refs: Array<{ ref: string; to: string }>; images: unknown }>;
    expect(rolledBack).toMatchObject({ toVersion: DEMO_VERSION, images: [{ name: 'bootc', repository, tag: 'stable', from: v2List, to: v1List }] });
    expect(await os.tagDigest('stable')).toBe(v1List);
    expect(await releaseCommits()).toEqual(rolledBack!.refs.map((r) => r.to));
  });

  it('refuses the rollback (ref-moved) when the release tag is not where relengd put it, and moves nothing', { timeout: 300_000 }, async () => {
    const { p, os, v1List, v2Commits, releaseCommits, config } = await twoImageReleases('fedora/rollback-moved');
    // Someone else points stable at another image (one arch's) behind relengd's back.
    const [elsewhere] = p.events('relengd.artifact.build.finished').filter((a) => a.kind === 'oci').map((a) => a.digest as string);
    await os.tagDigestAs(elsewhere!, 'stable');
    const asked = await runCli(['--config', config, 'rollback', '--group', DEMO_GROUP, '--wait']);
    expect(asked.code).toBe(1);
    expect(asked.stdout).toContain('refused (ref-moved):');
    expect(p.events('relengd.release.rollback.refused')).toMatchObject([{ reason: 'ref-moved', detail: expect.stringContaining(`:stable is at ${elsewhere}`) }]);
    expect(p.events('relengd.release.rolled-back')).toEqual([]);
    expect(await os.tagDigest('stable')).toBe(elsewhere);
    expect(await os.tagDigest('stable')).not.toBe(v1List);
    expect(await releaseCommits()).toEqual(v2Commits);
  });
});
