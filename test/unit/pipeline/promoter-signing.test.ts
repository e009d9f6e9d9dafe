import { describe, expect, it } from 'vitest';
import type { SignSubject } from '../../../src/events/relengd/sign.ts';
import { gateViews } from '../../../src/pipeline/gates.ts';
import { PROMOTION, promoter, type Candidate } from '../../../src/pipeline/listeners/promoter.ts';
import { SIGNATURES, type SignatureRecord } from '../../../src/pipeline/listeners/sign-state.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const KEY = 'BC14999267BB3AFC34D5C2F4944A417EBC54647D';
const VERSION = '26.20261126.0';
const LABEL = `f26-atomic-host-${VERSION}`;
const commitOf = (arch: string) => (arch === 'x86_64' ? 'a' : 'b').repeat(64);
const releaseOf = (arch: string) => (arch === 'x86_64' ? 'c' : 'd').repeat(64);

const config = testConfig('/srv/relengd', {
  stream: (arch) => `${artifactsAndPromotion()(arch)}\n    sign: { protocol: request-reply, keyring: /etc/relengd/keys, keyIds: [${KEY}] }`,
  extra: 'publishers: { coreos.build.request.ostree-sign.finished: [robosignatory], greenwave.decision.update: [greenwave] }',
});

const composeDone = (arch: string) => ({
  composeId: `compose-${arch}`,
  stream: `f26-atomic-host-${arch}`,
  group: 'f26-atomic-host',
  arch,
  ref: `fedora/26/${arch}/updates/atomic-host`,
  commit: commitOf(arch),
  version: VERSION,
  status: 'FINISHED',
  artifacts: [],
});

const subjectOf = (arch: string, commit: string, purpose: 'candidate' | 'release'): SignSubject => ({
  commit,
  repo: '/srv/relengd/repo',
  ref: purpose === 'candidate' ? `fedora/26/${arch}/updates/atomic-host` : `fedora/26/${arch}/atomic-host`,
  stream: `f26-atomic-host-${arch}`,
  group: 'f26-atomic-host',
  arch,
  version: VERSION,
  composeId: `compose-${arch}`,
  purpose,
});

/** What the signer listener records once a commit's signature is verified (it runs before the promoter). */
function signed(h: ReturnType<typeof listenerHarness>, subject: SignSubject): Record<string, unknown> {
  const record: SignatureRecord = { subject, state: 'verified', purposes: [subject.purpose], request: null, verified: { keyId: '944A417EBC54647D', signer: 'releng <r@example.org>', by: 'wait', at: '2026-11-26T10:00:00Z', eventId: `verified-${subject.commit}` }, timeouts: [], replies: [], refusals: [] };
  h.set(SIGNATURES, subject.commit, record);
  return { ...subject, requestId: null, keyId: '944A417EBC54647D', signer: 'releng <r@example.org>', by: 'wait' };
}

const greenwave = { decision_context: 'atomic_two_week', subject_type: 'compose', subject_identifier: LABEL, policies_satisfied: true, summary: 'All required tests passed' };

function readyButUnsigned() {
  const h = listenerHarness(promoter, config);
  h.send('relengd.compose.finished', composeDone('x86_64'));
  h.send('relengd.compose.finished', composeDone('aarch64'));
  return h;
}

describe('promoter, for a signed group', () => {
  it('holds a candidate whose gates hold while a commit is unsigned, and promotes it once every arch is signed', () => {
    const h = readyButUnsigned();
    expect(h.send('greenwave.decision.update', greenwave, { publisher: 'greenwave' }).jobs).toEqual([]);
    expect(h.send('relengd.sign.verified', signed(h, subjectOf('x86_64', commitOf('x86_64'), 'candidate'))).jobs).toEqual([]);
    const decision = h.send('relengd.sign.verified', signed(h, subjectOf('aarch64', commitOf('aarch64'), 'candidate')), { id: 'verified-aarch64' });
    expect(decision.jobs).toHaveLength(1);
    expect(decision.jobs[0]!.spec).toMatchObject({ gates: ['greenwave atomic_two_week', 'signed by 944A417EBC54647D'], sign: { keyring: '/etc/relengd/keys', keyIds: [KEY] } });
    expect(decision.jobs[0]!.spec).not.toHaveProperty('plan');
  });

  it("refuses an operator's promotion of an unsigned candidate, forced or not, saying where its signing stands", () => {
    const h = readyButUnsigned();
    signed(h, subjectOf('x86_64', commitOf('x86_64'), 'candidate'));
    const decision = h.send('relengd.release.promote.requested', { group: 'f26-atomic-host', version: VERSION, force: true }, { publisher: 'releng' });
    expect(decision.jobs).toEqual([]);
    expect(decision.emit).toEqual([
      expect.objectContaining({ topic: 'relengd.release.promotion.refused', data: { group: 'f26-atomic-host', version: VERSION, reason: 'unsigned', detail: `aarch64 commit ${commitOf('aarch64')} is not signed: no signature requested yet` } }),
    ]);
  });

  it('resumes a promotion with the plan of its first run once the release commits it wrote are signed, asked for as before', () => {
    const h = readyButUnsigned();
    for (const arch of ['x86_64', 'aarch64']) signed(h, subjectOf(arch, commitOf(arch), 'candidate'));
    const first = h.send('relengd.release.promote.requested', { group: 'f26-atomic-host', version: VERSION }, { id: 'ask', publisher: 'releng' });
    const firstJob = (h.get(PROMOTION, `f26-atomic-host/${VERSION}`) as Candidate).jobId!;
    expect(first.jobs).toMatchObject([{ key: 'manual' }]);
    const plan = ['x86_64', 'aarch64'].map((arch) => ({ ref: `fedora/26/${arch}/atomic-host`, arch, from: null, to: releaseOf(arch) }));
    const awaiting = { group: 'f26-atomic-host', version: VERSION, jobId: firstJob, plan, commits: ['x86_64', 'aarch64'].map((arch) => subjectOf(arch, releaseOf(arch), 'release')) };

    expect(h.send('relengd.release.awaiting-signature', { ...awaiting, jobId: 'another-job' })).toMatchObject({ jobs: [], patches: [] });
    expect(h.send('relengd.release.awaiting-signature', awaiting).jobs).toEqual([]);
    expect(h.get(PROMOTION, `f26-atomic-host/${VERSION}`)).toMatchObject({ phase: 'promoting', jobId: firstJob, releaseSigning: { jobId: firstJob, commits: [releaseOf('x86_64'), releaseOf('aarch64')] } });

    expect(h.send('relengd.sign.verified', signed(h, subjectOf('x86_64', releaseOf('x86_64'), 'release'))).jobs).toEqual([]);
    const resumed = h.send('relengd.sign.verified', signed(h, subjectOf('aarch64', releaseOf('aarch64'), 'release')));
    expect(resumed.jobs).toMatchObject([{ kind: 'promote', key: 'signed', spec: { requestedBy: 'releng', force: false, plan: plan.map(({ ref, from, to }) => ({ ref, from, to })) } }]);
    const candidate = h.get(PROMOTION, `f26-atomic-host/${VERSION}`) as Candidate;
    expect(candidate.jobId).not.toBe(firstJob);
    expect(candidate.releaseSigning).toBeUndefined();
  });
});

describe('the "signed" gate as status shows it', () => {
  const candidate: Candidate = {
    group: 'f26-atomic-host',
    version: VERSION,
    composes: Object.fromEntries(['x86_64', 'aarch64'].map((arch) => [arch, { composeId: `compose-${arch}`, stream: `f26-atomic-host-${arch}`, ref: `r/${arch}`, commit: commitOf(arch), status: 'FINISHED' as const, artifacts: [] }])),
    approval: null,
    phase: 'open',
  };
  const base = { subject: subjectOf('x86_64', commitOf('x86_64'), 'candidate'), purposes: ['candidate' as const], replies: [], refusals: [] };
  const records: Record<string, SignatureRecord> = {
    [commitOf('x86_64')]: { ...base, state: 'verified', request: null, timeouts: [], verified: { keyId: '944A417EBC54647D', signer: 'releng <r@example.org>', by: 'reply', at: '2026-11-26T10:05:00Z', eventId: 'v-1' } },
    [commitOf('aarch64')]: {
      ...base,
      state: 'timed-out',
      verified: null,
      request: { requestId: 'req-2', attempt: 2, attempts: 2, sent: 1, at: '2026-11-26T11:00:00Z', eventId: 'r-2' },
      timeouts: [{ requestId: 'req-2', attempt: 2, attempts: 2, reason: 'no good signature within 60 minutes', next: 'wait-for-late-reply', at: '2026-11-26T12:00:00Z', eventId: 't-2' }],
    },
  };
  const view = (signing: boolean) =>
    gateViews({
      candidate,
      arches: ['x86_64', 'aarch64'],
      gates: [],
      gatingOf: () => ({ greenwave: {}, results: {} }),
      greenwaveMessages: [],
      resultsdbMessages: [],
      approvalEvent: null,
      signing: signing ? { signatureOf: (c) => records[c], eventRef: (id) => id } : undefined,
    });

  it('is pending while an arch is unsigned, saying it timed out and that a late reply still counts, decided by the timeout', () => {
    expect(view(true)).toEqual([
      {
        label: 'signed',
        state: 'pending',
        detail:
          'x86_64: signed by 944A417EBC54647D (releng <r@example.org>), verified at 2026-11-26T10:05:00Z; aarch64: timed out at 2026-11-26T12:00:00Z (attempt 2 of 2): no good signature within 60 minutes; no more requests, a late reply still counts',
        decidedBy: 't-2',
      },
    ]);
  });

  it('is not shown for a group that is not signed', () => {
    expect(view(false)).toEqual([]);
  });
});
