/**
 * The rollback listener's decisions for a signed group (two steps: the rollback commits are signed
 * before any ref moves) and for a group with a container image (its release tag goes back with the
 * refs), and the promoter carrying a promotion's tag plan through its signing wait.
 */
import { describe, expect, it } from 'vitest';
import { jobId } from '../../../src/events/ids.ts';
import type { SignSubject } from '../../../src/events/relengd/sign.ts';
import type { PromoteJobSpec, RollbackJobSpec } from '../../../src/jobs/specs.ts';
import { PROMOTION, promoter, type Candidate } from '../../../src/pipeline/listeners/promoter.ts';
import { RELEASES, type ReleaseHistory } from '../../../src/pipeline/listeners/release-history.ts';
import { rollback } from '../../../src/pipeline/listeners/rollback.ts';
import { SIGNATURES, type SignatureRecord } from '../../../src/pipeline/listeners/sign-state.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const GROUP = 'f26-atomic-host';
const ARCHES = ['x86_64', 'aarch64'] as const;
const V1 = '26.20261126.0';
const V2 = '26.20261127.0';
const KEY = 'BC14999267BB3AFC34D5C2F4944A417EBC54647D';
const REPOSITORY = 'registry.example.org/fedora/bootc';
const released = (arch: string, version: string): string => `${ARCHES.indexOf(arch as 'x86_64') + 1}${version.replaceAll('.', '')}`.padEnd(64, 'c');
/** The rollback commit the first run of the rollback job wrote on `arch`'s release ref. */
const rollbackCommit = (arch: string): string => (arch === 'x86_64' ? 'e' : 'f').repeat(64);
const listDigest = (version: string): string => `sha256:${version.replaceAll('.', '').padEnd(64, '0')}`;

const signedConfig = testConfig('/srv/relengd', {
  stream: (arch) => `${artifactsAndPromotion()(arch)}\n    sign: { protocol: request-reply, keyring: /etc/relengd/keys, keyIds: [${KEY}] }`,
  extra: 'publishers: { coreos.build.request.ostree-sign.finished: [robosignatory] }',
});
/** Each stream with a bootc image released as `stable`. */
const imageConfig = testConfig('/srv/relengd', {
  stream: (arch) =>
    artifactsAndPromotion()(arch).replace(
      '    artifacts:\n',
      `    artifacts:\n      - { name: bootc, kind: oci, platform: bootc, format: oci, output: "{outputDir}/image", command: [build], oci: { repository: ${REPOSITORY}, releaseTag: stable } }\n`,
    ),
});

function promoted(version: string, previous: string | null, images?: boolean) {
  return {
    group: GROUP,
    version,
    jobId: `promote-${version}`,
    refs: ARCHES.map((arch) => ({ ref: `fedora/26/${arch}/atomic-host`, arch, from: previous && released(arch, previous), to: released(arch, version) })),
    artifacts: [],
    ...(images ? { images: [{ name: 'bootc', repository: REPOSITORY, tag: 'stable', from: previous && listDigest(previous), to: listDigest(version) }] } : {}),
  };
}

const subjectOf = (arch: string): SignSubject => ({
  commit: rollbackCommit(arch),
  repo: '/srv/relengd/repo',
  ref: `fedora/26/${arch}/atomic-host`,
  stream: `${GROUP}-${arch}`,
  group: GROUP,
  arch,
  version: V1,
  composeId: V1,
  purpose: 'rollback',
});

/** What the signer listener (dispatched first) records once a commit's signature is verified, and the event. */
function signed(h: ReturnType<typeof listenerHarness>, subject: SignSubject): Record<string, unknown> {
  const record: SignatureRecord = { subject, state: 'verified', purposes: [subject.purpose], request: null, verified: { keyId: KEY.slice(-16), signer: 'releng', by: 'wait', at: '2026-11-26T10:00:00Z', eventId: `verified-${subject.commit}` }, timeouts: [], replies: [], refusals: [] };
  h.set(SIGNATURES, subject.commit, record);
  return { ...subject, requestId: null, keyId: KEY.slice(-16), signer: 'releng', by: 'wait' };
}

describe('rollback of a signed group', () => {
  function rolledBackOnce() {
    const h = listenerHarness(rollback, signedConfig);
    h.send('relengd.release.promoted', promoted(V1, null), { id: 'promoted-1' });
    h.send('relengd.release.promoted', promoted(V2, V1), { id: 'promoted-2' });
    const asked = h.send('relengd.release.rollback.requested', { group: GROUP }, { id: 'cmd', publisher: 'local:alice' });
    const history = () => h.get(RELEASES, GROUP) as ReleaseHistory;
    const plan = ARCHES.map((arch) => ({ ref: `fedora/26/${arch}/atomic-host`, arch, from: released(arch, V2), to: rollbackCommit(arch) }));
    const awaiting = { group: GROUP, version: V1, jobId: jobId('cmd', 'rollback', 'rollback'), plan, commits: ARCHES.map(subjectOf) };
    return { h, asked, history, plan, awaiting };
  }

  it('gives the rollback job the group signing; the job waiting for signatures is remembered, and resumed with its plan once every rollback commit is verified', () => {
    const { h, asked, history, plan, awaiting } = rolledBackOnce();
    expect(asked.jobs).toMatchObject([{ kind: 'rollback', key: 'rollback', spec: { fromVersion: V2, toVersion: V1, sign: { keyring: '/etc/relengd/keys', keyIds: [KEY] } } }]);
    expect(asked.jobs[0]!.spec).not.toHaveProperty('plan');
    const firstJob = jobId('cmd', 'rollback', 'rollback');

    // Another job's wait (a promotion's) is not this rollback's.
    expect(h.send('relengd.release.awaiting-signature', { ...awaiting, jobId: 'promote-job' })).toMatchObject({ emit: [], jobs: [], patches: [] });
    expect(h.send('relengd.release.awaiting-signature', awaiting)).toMatchObject({ emit: [], jobs: [] });
    expect(history().rollingBack).toMatchObject({ jobId: firstJob, toVersion: V1, signing: { jobId: firstJob, plan, commits: ARCHES.map(rollbackCommit) } });
    // Another request meanwhile is refused, saying the rollback in flight waits for signatures.
    expect(h.send('relengd.release.rollback.requested', { group: GROUP }, { publisher: 'local:alice' }).emit).toMatchObject([
      { data: { reason: 'rollback-running', detail: expect.stringContaining(`its rollback commits wait for their signatures (${rollbackCommit('x86_64')}, ${rollbackCommit('aarch64')}), no ref moved yet`) } },
    ]);

    // A verified commit of no rollback, then one of the two: still waiting.
    expect(h.send('relengd.sign.verified', signed(h, { ...subjectOf('x86_64'), commit: '9'.repeat(64) }))).toMatchObject({ jobs: [], patches: [] });
    expect(h.send('relengd.sign.verified', signed(h, subjectOf('x86_64'))).jobs).toEqual([]);
    const resumed = h.send('relengd.sign.verified', signed(h, subjectOf('aarch64')), { id: 'verified-aarch64' });
    expect(resumed.jobs).toHaveLength(1);
    const spec = resumed.jobs[0]!.spec as RollbackJobSpec;
    expect(resumed.jobs[0]).toMatchObject({ kind: 'rollback', key: 'signed', queueKey: `promote:${GROUP}` });
    expect(spec).toEqual({ ...(asked.jobs[0]!.spec as RollbackJobSpec), plan: plan.map(({ ref, from, to }) => ({ ref, from, to })) });
    const resumedJob = jobId('verified-aarch64', 'rollback', 'signed');
    expect(history().rollingBack).toEqual({ jobId: resumedJob, toVersion: V1, spec: asked.jobs[0]!.spec });

    // A late verification resumes nothing again; a second request waits for the rollback in flight.
    expect(h.send('relengd.sign.verified', signed(h, subjectOf('aarch64'))).jobs).toEqual([]);
    const second = h.send('relengd.release.rollback.requested', { group: GROUP }, { publisher: 'local:alice' });
    expect(second.emit).toMatchObject([{ data: { reason: 'rollback-running' } }]);
    // The resumed job refusing (a signature went missing) ends the rollback: nothing moved.
    h.send('relengd.release.rollback.refused', { group: GROUP, fromVersion: V2, toVersion: V1, reason: 'unsigned', detail: 'gone', requestedBy: 'local:alice', jobId: resumedJob });
    expect(history().rollingBack).toBeNull();
    expect(history().current?.version).toBe(V2);
  });

  it('resumes at once when the rollback commits are signed by the time the job says it waits', () => {
    const { h, awaiting } = rolledBackOnce();
    for (const arch of ARCHES) signed(h, subjectOf(arch));
    expect(h.send('relengd.release.awaiting-signature', awaiting).jobs).toMatchObject([{ kind: 'rollback', key: 'signed', spec: { plan: awaiting.plan.map(({ ref, from, to }) => ({ ref, from, to })) } }]);
  });

  it('the promoter leaves a rollback waiting for signatures alone', () => {
    const { awaiting } = rolledBackOnce();
    const p = listenerHarness(promoter, signedConfig);
    expect(p.send('relengd.release.awaiting-signature', awaiting)).toMatchObject({ emit: [], jobs: [], patches: [] });
  });

  it('a group that is not signed is rolled back in one step, as before', () => {
    const h = listenerHarness(rollback, testConfig('/srv/relengd', { stream: artifactsAndPromotion() }));
    h.send('relengd.release.promoted', promoted(V1, null));
    h.send('relengd.release.promoted', promoted(V2, V1));
    const asked = h.send('relengd.release.rollback.requested', { group: GROUP }, { publisher: 'local:alice' });
    expect(asked.jobs).toHaveLength(1);
    expect(asked.jobs[0]!.spec).not.toHaveProperty('sign');
    expect(asked.jobs[0]!.spec).not.toHaveProperty('images');
  });
});

describe('rollback of a group with a container image', () => {
  it('moves the release tag back from the digest relengd last put there to the one the earlier version released, and records where it stands after', () => {
    const h = listenerHarness(rollback, imageConfig);
    h.send('relengd.release.promoted', promoted(V1, null, true));
    h.send('relengd.release.promoted', promoted(V2, V1, true));
    const asked = h.send('relengd.release.rollback.requested', { group: GROUP }, { id: 'cmd', publisher: 'local:alice' });
    const spec = asked.jobs[0]!.spec as RollbackJobSpec;
    expect(spec.images).toEqual([{ name: 'bootc', repository: REPOSITORY, tlsVerify: true, listTag: V1, tag: 'stable', from: listDigest(V2), to: listDigest(V1) }]);

    h.send('relengd.release.rolled-back', {
      group: GROUP,
      fromVersion: V2,
      toVersion: V1,
      requestedBy: 'local:alice',
      jobId: jobId('cmd', 'rollback', 'rollback'),
      refs: spec.targets.map((t) => ({ ref: t.ref, arch: t.arch, from: t.expected, to: rollbackCommit(t.arch) })),
      images: [{ name: 'bootc', repository: REPOSITORY, tag: 'stable', from: listDigest(V2), to: listDigest(V1) }],
    });
    const history = h.get(RELEASES, GROUP) as ReleaseHistory;
    expect(history.current).toMatchObject({ version: V1, images: [{ tag: 'stable', to: listDigest(V1) }] });
    expect(history.promotions.map((p) => p.images?.[0]?.to)).toEqual([listDigest(V1), listDigest(V2)]);
  });

  it('leaves a tag the earlier version did not release', () => {
    const h = listenerHarness(rollback, imageConfig);
    h.send('relengd.release.promoted', promoted(V1, null, false));
    h.send('relengd.release.promoted', promoted(V2, V1, true));
    const asked = h.send('relengd.release.rollback.requested', { group: GROUP }, { publisher: 'local:alice' });
    expect(asked.jobs).toHaveLength(1);
    expect(asked.jobs[0]!.spec).not.toHaveProperty('images');
  });
});

describe('a promotion resumed after signing', () => {
  it('moves the release tags as its first run planned them: the plan travels from the wait to the resumed job', () => {
    const h = listenerHarness(promoter, signedConfig);
    const commitOf = (arch: string) => (arch === 'x86_64' ? 'a' : 'b').repeat(64);
    for (const arch of ARCHES) {
      h.send('relengd.compose.finished', { composeId: `compose-${arch}`, stream: `${GROUP}-${arch}`, group: GROUP, arch, ref: `fedora/26/${arch}/updates/atomic-host`, commit: commitOf(arch), version: V1, status: 'FINISHED', artifacts: [] });
      signed(h, { ...subjectOf(arch), commit: commitOf(arch), purpose: 'candidate' });
    }
    h.send('relengd.release.promote.requested', { group: GROUP, version: V1 }, { publisher: 'releng' });
    const firstJob = (h.get(PROMOTION, `${GROUP}/${V1}`) as Candidate).jobId!;
    const plan = ARCHES.map((arch) => ({ ref: `fedora/26/${arch}/atomic-host`, arch, from: null, to: rollbackCommit(arch) }));
    const images = [{ name: 'bootc', repository: REPOSITORY, tlsVerify: true, listTag: V1, tag: 'stable', from: null, to: listDigest(V1) }];
    const commits = ARCHES.map((arch) => ({ ...subjectOf(arch), purpose: 'release' as const }));
    h.send('relengd.release.awaiting-signature', { group: GROUP, version: V1, jobId: firstJob, plan, commits, images });
    expect((h.get(PROMOTION, `${GROUP}/${V1}`) as Candidate).releaseSigning).toMatchObject({ images });
    h.send('relengd.sign.verified', signed(h, commits[0]!));
    const resumed = h.send('relengd.sign.verified', signed(h, commits[1]!));
    expect(resumed.jobs).toHaveLength(1);
    expect(resumed.jobs[0]!.spec as PromoteJobSpec).toMatchObject({ plan: plan.map(({ ref, from, to }) => ({ ref, from, to })), imagePlan: images });
  });
});
