/**
 * Container-image streams in the pure listeners: the per-arch images of a group version are joined
 * into one manifest-list job (all arches or none), the artifact job knows where to push, and a
 * promotion's job carries the release tag to move.
 */
import { describe, expect, it } from 'vitest';
import { ArtifactJobSpec, ImageIndexJobSpec, PromoteJobSpec } from '../../../src/jobs/specs.ts';
import { artifacts } from '../../../src/pipeline/listeners/artifacts.ts';
import { IMAGE_INDEX, imageIndex } from '../../../src/pipeline/listeners/image-index.ts';
import { promoter } from '../../../src/pipeline/listeners/promoter.ts';
import { authorize, bindFromOutside, topicKind, type DeliverySource } from '../../../src/trust.ts';
import { testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const VERSION = '41.20261126.0';
const REPOSITORY = 'quay.io/fedora/fedora-bootc';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const commitOf = (arch: string) => (arch === 'x86_64' ? 'a' : 'b').repeat(64);

/** The two-arch test group with an `oci` artifact (and an installer) and a gate-less promotion. */
const config = (releaseTag = 'stable') =>
  testConfig('/srv/relengd', {
    stream: (arch) => `    artifacts:
      - { name: installer, kind: installer, platform: metal, format: iso, output: "{outputDir}/boot.iso", command: [lorax, "{outputDir}"] }
      - name: bootc
        kind: oci
        platform: bootc
        format: oci
        output: "{outputDir}/image"
        command: [rpm-ostree, compose, container-encapsulate, "--repo={repo}", "{commit}", "oci:{outputDir}/image"]
        oci: { repository: ${REPOSITORY}, listTag: "{release}.{version}"${releaseTag ? `, releaseTag: ${releaseTag}` : ''} }
    promote: { ref: fedora/26/${arch}/atomic-host }`,
  });

function imageBuilt(arch: string, d: string, overrides: Record<string, unknown> = {}) {
  return {
    composeId: `compose-${arch}`,
    stream: `f26-atomic-host-${arch}`,
    commit: commitOf(arch),
    version: VERSION,
    name: 'bootc',
    kind: 'oci',
    platform: 'bootc',
    format: 'oci',
    failable: false,
    path: `${REPOSITORY}@${d}`,
    sha256: d.slice('sha256:'.length),
    size: 1000,
    digest: d,
    tag: `${VERSION}-${arch}`,
    ...overrides,
  };
}

describe('image-index listener', () => {
  it('enqueues one manifest list once every arch of the group has its image, on the group promotion queue', () => {
    const h = listenerHarness(imageIndex, config());
    expect(h.send('relengd.artifact.build.finished', imageBuilt('x86_64', digest('1'))).jobs).toEqual([]);
    const decision = h.send('relengd.artifact.build.finished', imageBuilt('aarch64', digest('2')));
    expect(decision.emit).toEqual([]);
    expect(decision.jobs).toEqual([
      {
        kind: 'image-index',
        key: 'index',
        queueKey: 'promote:f26-atomic-host',
        spec: {
          group: 'f26-atomic-host',
          version: VERSION,
          name: 'bootc',
          repository: REPOSITORY,
          tlsVerify: true,
          tag: `26.${VERSION}`,
          images: [
            { arch: 'x86_64', stream: 'f26-atomic-host-x86_64', digest: digest('1') },
            { arch: 'aarch64', stream: 'f26-atomic-host-aarch64', digest: digest('2') },
          ],
        },
      },
    ]);
    expect(ImageIndexJobSpec.parse(decision.jobs[0]!.spec)).toEqual(decision.jobs[0]!.spec);
  });

  it('makes no list while an arch is missing its image (all arches or none): a failed build never completes the set', () => {
    const h = listenerHarness(imageIndex, config());
    expect(h.send('relengd.artifact.build.finished', imageBuilt('x86_64', digest('1'))).jobs).toEqual([]);
    expect(h.get(IMAGE_INDEX, `f26-atomic-host/${VERSION}/bootc`)).toMatchObject({ images: { x86_64: { digest: digest('1') } } });
    // Another version's image does not complete this one.
    expect(h.send('relengd.artifact.build.finished', imageBuilt('aarch64', digest('2'), { version: '41.20261127.0' })).jobs).toEqual([]);
  });

  it('makes a new list when an arch is rebuilt with another image, and none for the same images again', () => {
    const h = listenerHarness(imageIndex, config());
    h.send('relengd.artifact.build.finished', imageBuilt('x86_64', digest('1')));
    expect(h.send('relengd.artifact.build.finished', imageBuilt('aarch64', digest('2'))).jobs).toHaveLength(1);
    expect(h.send('relengd.artifact.build.finished', imageBuilt('aarch64', digest('2'))).jobs).toEqual([]);
    const rebuilt = h.send('relengd.artifact.build.finished', imageBuilt('aarch64', digest('3'))).jobs;
    expect((rebuilt[0]!.spec as ImageIndexJobSpec).images.map((i) => i.digest)).toEqual([digest('1'), digest('3')]);
  });

  it('ignores other artifacts, unknown streams and an image without a version', () => {
    const h = listenerHarness(imageIndex, config());
    const iso = { ...imageBuilt('x86_64', digest('1')), name: 'installer', kind: 'installer', digest: undefined };
    expect(h.send('relengd.artifact.build.finished', iso)).toMatchObject({ jobs: [], patches: [] });
    expect(h.send('relengd.artifact.build.finished', imageBuilt('x86_64', digest('1'), { stream: 'f25-gone-x86_64' }))).toMatchObject({ jobs: [], patches: [] });
    expect(h.send('relengd.artifact.build.finished', imageBuilt('x86_64', digest('1'), { version: null }))).toMatchObject({ jobs: [], patches: [] });
  });
});

describe('artifacts listener with an oci artifact', () => {
  it('gives the build job where to push: the repository, the arch tag template, TLS verification', () => {
    const h = listenerHarness(artifacts, config());
    const request = { composeId: 'compose-x86_64', stream: 'f26-atomic-host-x86_64', commit: commitOf('x86_64'), version: VERSION, name: 'bootc', kind: 'oci', platform: 'bootc', format: 'oci', failable: false };
    const [job] = h.send('relengd.artifact.build.requested', request).jobs;
    expect(job!.spec).toMatchObject({ kind: 'oci', output: '{outputDir}/image', oci: { repository: REPOSITORY, tag: '{version}-{arch}', tlsVerify: true } });
    expect(ArtifactJobSpec.parse(job!.spec)).toEqual(job!.spec);
  });
});

describe('promoter with a container image', () => {
  const oci = (arch: string) => ({ name: 'bootc', kind: 'oci', platform: 'bootc', format: 'oci', path: `${REPOSITORY}@${digest(arch === 'x86_64' ? '1' : '2')}`, sha256: (arch === 'x86_64' ? '1' : '2').repeat(64), size: 1000 });
  const composeDone = (arch: string) => ({ composeId: `compose-${arch}`, stream: `f26-atomic-host-${arch}`, group: 'f26-atomic-host', arch, ref: `fedora/26/${arch}/updates/atomic-host`, commit: commitOf(arch), version: VERSION, status: 'FINISHED', artifacts: [oci(arch)] });

  it('moves the release tag with the refs: the job names the list tag of the version and the tag to move', () => {
    const h = listenerHarness(promoter, config());
    h.send('relengd.compose.finished', composeDone('x86_64'));
    const [job] = h.send('relengd.compose.finished', composeDone('aarch64')).jobs;
    const spec = PromoteJobSpec.parse(job!.spec);
    expect(spec.images).toEqual([{ name: 'bootc', repository: REPOSITORY, tlsVerify: true, listTag: `26.${VERSION}`, releaseTag: 'stable' }]);
    expect(spec.targets.map((t) => t.artifacts)).toEqual([[oci('x86_64')], [oci('aarch64')]]);
  });

  it('moves no tag for an image without a releaseTag: the spec is the one it always was', () => {
    const h = listenerHarness(promoter, config(''));
    h.send('relengd.compose.finished', composeDone('x86_64'));
    const [job] = h.send('relengd.compose.finished', composeDone('aarch64')).jobs;
    expect(job!.spec).not.toHaveProperty('images');
  });
});

describe("image events are relengd's own facts", () => {
  it.each<DeliverySource>(['live', 'replayed', 'archive', 'operator'])('a manifest list announced from outside is dropped, whoever sends it (%s)', (source) => {
    for (const topic of ['relengd.image.index.finished', 'relengd.image.index.failed']) {
      expect(topicKind(topic)).toBe('own');
      expect(authorize(topic, { identity: 'releng', source }, { [topic]: ['releng'] })).toMatchObject({ allowed: false, drop: true });
    }
  });
  it('are not bound on a shared bus', () => {
    expect(bindFromOutside('relengd.image.index.finished', {})).toBe(false);
  });
});
