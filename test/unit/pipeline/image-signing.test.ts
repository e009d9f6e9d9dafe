/** The signer listener's image path: a signed group's manifest list and its arches' images are each asked for, by artifacts-sign. */
import { describe, expect, it } from 'vitest';
import { emittedEventId } from '../../../src/events/ids.ts';
import type { SignRequested } from '../../../src/events/relengd/sign.ts';
import type { SignVerifyJobSpec } from '../../../src/jobs/executors/sign-specs.ts';
import { IMAGE_LISTS, SIGNATURES, type SignatureRecord } from '../../../src/pipeline/listeners/sign-state.ts';
import { signer } from '../../../src/pipeline/listeners/signer.ts';
import { testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const KEY = 'BC14999267BB3AFC34D5C2F4944A417EBC54647D';
const REPOSITORY = 'quay.io/fedora/bootc';
const LIST = `sha256:${'1'.repeat(64)}`;
const X86 = `sha256:${'2'.repeat(64)}`;
const ARM = `sha256:${'3'.repeat(64)}`;

function setup(options: { signatures?: boolean; releaseTag?: boolean } = {}) {
  const stream = () => `    artifacts:
      - name: bootc
        kind: oci
        platform: bootc
        format: oci
        output: "{outputDir}/image"
        command: [rpm-ostree, compose, container-encapsulate, "--repo={repo}", "{commit}", "oci:{outputDir}/image"]
        oci: { repository: ${REPOSITORY}${options.releaseTag === false ? '' : ', releaseTag: stable'} }
    sign: { protocol: request-reply, keyring: /etc/relengd/keys, keyIds: [${KEY}]${options.signatures === false ? '' : ', signatures: /srv/sigstore'} }`;
  return listenerHarness(signer, testConfig('/srv/relengd', { stream, extra: 'publishers: { coreos.build.request.ostree-sign.finished: [robosignatory], coreos.build.request.artifacts-sign.finished: [robosignatory] }' }));
}

const listPushed = {
  group: 'f26-atomic-host',
  version: '26.20261126.0',
  name: 'bootc',
  repository: REPOSITORY,
  tag: '26.20261126.0',
  manifests: [
    { arch: 'x86_64', digest: X86 },
    { arch: 'aarch64', digest: ARM },
  ],
  digest: LIST,
};

describe('signer: container images', () => {
  it('asks for the list and every arch image once each, for the identity the release tag gives them', () => {
    const h = setup();
    const decision = h.send('relengd.image.index.finished', listPushed, { id: 'index-1' });
    const requests = decision.emit.map((e) => e.data as SignRequested);
    expect(decision.emit.map((e) => e.topic)).toEqual(['relengd.sign.requested', 'relengd.sign.requested', 'relengd.sign.requested']);
    expect(requests.map((r) => [r.arch, r.commit, r.image?.digest, r.ref])).toEqual([
      ['multi', '1'.repeat(64), LIST, `${REPOSITORY}:stable`],
      ['x86_64', '2'.repeat(64), X86, `${REPOSITORY}:stable`],
      ['aarch64', '3'.repeat(64), ARM, `${REPOSITORY}:stable`],
    ]);
    expect(requests[0]!.image).toMatchObject({ repository: REPOSITORY, identity: `${REPOSITORY}:stable`, signatures: '/srv/sigstore', tlsVerify: true });
    expect(h.get(IMAGE_LISTS, 'f26-atomic-host/26.20261126.0/bootc')).toEqual({ digest: LIST, manifests: listPushed.manifests });
    // The same list again (a replay): nothing asked twice.
    expect(h.send('relengd.image.index.finished', listPushed, { id: 'index-1' }).emit).toEqual([]);
  });

  it('puts an image request on the wire as artifacts-sign, waits for it, and checks a SUCCESS reply naming its digest, not one naming another', () => {
    const h = setup();
    const first = h.send('relengd.image.index.finished', listPushed, { id: 'index-1' });
    const request = first.emit[0]!.data as SignRequested;
    const sent = h.send('relengd.sign.requested', request, { id: emittedEventId('index-1', 'signer', first.emit[0]!.key) });
    expect(sent.emit).toEqual([
      {
        topic: 'coreos.build.request.artifacts-sign',
        key: 'wire:0',
        subject: `${REPOSITORY}:stable`,
        data: { request_id: request.requestId, build_id: '26.20261126.0', basearch: 'multi', artifacts: [{ file: `docker://${REPOSITORY}@${LIST}`, checksum: LIST, 'docker-reference': `${REPOSITORY}:stable` }] },
      },
    ]);
    expect(sent.jobs.map((j) => j.kind)).toEqual(['sign-wait']);

    const wire = sent.emit[0]!.data as Record<string, unknown>;
    const other = h.send('coreos.build.request.artifacts-sign.finished', { ...wire, artifacts: [{ file: `docker://${REPOSITORY}@${X86}`, checksum: X86 }], status: 'SUCCESS' });
    expect(other.jobs).toEqual([]);
    const answered = h.send('coreos.build.request.artifacts-sign.finished', { ...wire, status: 'SUCCESS' }, { id: 'reply-1' });
    expect(answered.jobs.map((j) => j.kind)).toEqual(['sign-verify']);
    expect((answered.jobs[0]!.spec as SignVerifyJobSpec).subject.image?.digest).toBe(LIST);
    expect((h.get(SIGNATURES, '1'.repeat(64)) as SignatureRecord).replies).toMatchObject([{ status: 'SUCCESS' }]);
  });

  it('signs no image that is never released, nor in a group that is not signed', () => {
    expect(setup({ releaseTag: false }).send('relengd.image.index.finished', listPushed).emit).toEqual([]);
  });
});
