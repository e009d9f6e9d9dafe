import { describe, expect, it } from 'vitest';
import { emittedEventId } from '../../../src/events/ids.ts';
import type { SignRequested, SignSubject } from '../../../src/events/relengd/sign.ts';
import { gaveUpPhrase, readSignature, SIGNATURES, type SignatureRecord } from '../../../src/pipeline/listeners/sign-state.ts';
import { commitObjectUrl, signer } from '../../../src/pipeline/listeners/signer.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

const KEY = 'BC14999267BB3AFC34D5C2F4944A417EBC54647D';
const COMMIT = 'a'.repeat(64);
const REPO = '/srv/relengd/repo';

function setup(protocol: 'request-reply' | 'robosignatory' = 'request-reply', extra = 'timeoutMinutes: 60, retries: 1') {
  const stream = (arch: string) => `${artifactsAndPromotion()(arch)}\n    sign: { protocol: ${protocol}, keyring: /etc/relengd/keys, keyIds: [${KEY}], ${extra} }`;
  return listenerHarness(signer, testConfig('/srv/relengd', { stream, extra: 'publishers: { coreos.build.request.ostree-sign.finished: [robosignatory] }' }));
}

const composed = (commit = COMMIT) => ({
  composeId: 'Fedora-AtomicHost-26-20261126.0',
  stream: 'f26-atomic-host-x86_64',
  ref: 'fedora/26/x86_64/updates/atomic-host',
  commit,
  parent: null,
  version: '26.20261126.0',
  duration: 12,
});

const subject: SignSubject = {
  commit: COMMIT,
  repo: REPO,
  ref: 'fedora/26/x86_64/updates/atomic-host',
  stream: 'f26-atomic-host-x86_64',
  group: 'f26-atomic-host',
  arch: 'x86_64',
  version: '26.20261126.0',
  composeId: 'Fedora-AtomicHost-26-20261126.0',
  purpose: 'candidate',
};

/** The request the listener made for COMMIT, run through the listener as the dispatcher would. */
function requested(h: ReturnType<typeof setup>) {
  const first = h.send('relengd.ostree.compose.finished', composed(), { id: 'composed-1' });
  const request = first.emit[0]!.data as SignRequested;
  const sent = h.send('relengd.sign.requested', request, { id: emittedEventId('composed-1', 'signer', first.emit[0]!.key) });
  return { request, sent };
}

const reply = (request: SignRequested, status: string, extra: Record<string, unknown> = {}) => ({
  request_id: request.requestId,
  build_id: request.version,
  basearch: request.arch,
  commit_object: commitObjectUrl(request.repo, request.commit),
  checksum: `sha256:${request.commit}`,
  status,
  ...extra,
});

describe('signer', () => {
  it('asks for the signature of a new commit once, under a request id that is its request event\'s own id', () => {
    const h = setup();
    const decision = h.send('relengd.ostree.compose.finished', composed(), { id: 'composed-1' });
    const key = `request:${COMMIT}:1`;
    expect(decision.emit).toEqual([
      { topic: 'relengd.sign.requested', key, subject: subject.ref, data: { ...subject, requestId: emittedEventId('composed-1', 'signer', key), protocol: 'request-reply', attempt: 1, attempts: 2, resend: 0, deadline: null } },
    ]);
    // The compose's group result, and the same compose again, ask nothing more.
    expect(h.send('relengd.compose.finished', { ...composed(), group: 'f26-atomic-host', arch: 'x86_64', status: 'FINISHED', artifacts: [] }).emit).toEqual([]);
    expect(h.send('relengd.ostree.compose.finished', composed(), { id: 'composed-1' }).emit).toEqual([]);
  });

  it('puts the request on the wire as Fedora CoreOS\'s ostree-sign request, and has a job wait for the signature', () => {
    const h = setup();
    const { request, sent } = requested(h);
    expect(sent.emit).toEqual([
      {
        topic: 'coreos.build.request.ostree-sign',
        key: 'wire:0',
        subject: subject.ref,
        data: { request_id: request.requestId, build_id: '26.20261126.0', basearch: 'x86_64', commit_object: `file://${REPO}/objects/aa/${'a'.repeat(62)}.commit`, checksum: `sha256:${COMMIT}` },
      },
    ]);
    expect(sent.jobs).toEqual([
      { kind: 'sign-wait', key: 'wait', queueKey: `sign-wait:${COMMIT}`, spec: { request, verification: { keyring: '/etc/relengd/keys', keyIds: [KEY] }, timeoutMinutes: 60 } },
    ]);
    expect(readSignature({ get: h.get, list: () => [] }, COMMIT)).toMatchObject({ state: 'requested', request: { requestId: request.requestId, attempt: 1, attempts: 2, sent: 1 } });
  });

  it('announces the commit as Pungi does for robosignatory, which answers with the signature in the repository', () => {
    const h = setup('robosignatory', 'resendMinutes: 5');
    const { sent } = requested(h);
    expect(sent.emit).toEqual([
      {
        topic: 'pungi.compose.ostree',
        key: 'wire:0',
        subject: subject.ref,
        data: { ref: subject.ref, commitid: COMMIT, arch: 'x86_64', variant: 'f26-atomic-host', compose_id: subject.composeId, local_repo_path: REPO },
      },
    ]);
    expect(sent.jobs[0]!.spec).toMatchObject({ timeoutMinutes: 60, resendMinutes: 5 });
  });

  it('sends a resend again under the same request id, and nothing once the commit is signed', () => {
    const h = setup();
    const { request } = requested(h);
    const again = h.send('relengd.sign.requested', { ...request, resend: 1, deadline: '2026-11-26T11:00:00.000Z' });
    expect(again.emit[0]).toMatchObject({ topic: 'coreos.build.request.ostree-sign', key: 'wire:1', data: { request_id: request.requestId } });
    expect(again.jobs).toHaveLength(1);
    h.send('relengd.sign.verified', { ...subject, requestId: request.requestId, keyId: '944A417EBC54647D', signer: null, by: 'wait' });
    expect(h.send('relengd.sign.requested', { ...request, resend: 2, deadline: '2026-11-26T11:00:00.000Z' })).toMatchObject({ emit: [], jobs: [] });
  });

  it('checks the signature when the signer replies SUCCESS: the reply alone signs nothing', () => {
    const h = setup();
    const { request } = requested(h);
    const decision = h.send('coreos.build.request.ostree-sign.finished', reply(request, 'SUCCESS'), { id: 'reply-1', publisher: 'robosignatory' });
    expect(decision.emit).toEqual([]);
    expect(decision.jobs).toEqual([
      { kind: 'sign-verify', key: 'verify', queueKey: `sign-verify:${COMMIT}`, spec: { subject, requestId: request.requestId, replyId: 'reply-1', verification: { keyring: '/etc/relengd/keys', keyIds: [KEY] } } },
    ]);
    expect(h.get(SIGNATURES, COMMIT)).toMatchObject({ state: 'requested', verified: null, replies: [{ requestId: request.requestId, status: 'SUCCESS' }] });
  });

  it("ends the attempt at a FAILURE reply to the request in play: asks again at once under a new request id", () => {
    const h = setup();
    const { request } = requested(h);
    const decision = h.send('coreos.build.request.ostree-sign.finished', reply(request, 'FAILURE', { 'failure-message': 'sigul is down' }), { id: 'reply-1' });
    const key = `request:${COMMIT}:2`;
    expect(decision.jobs).toEqual([]);
    expect(decision.emit).toEqual([
      { topic: 'relengd.sign.refused', key: 'signer-failed', subject: subject.ref, data: { ...subject, requestId: request.requestId, reason: 'signer-failed', detail: 'sigul is down', replyId: 'reply-1', next: 'retry' } },
      { topic: 'relengd.sign.requested', key, subject: subject.ref, data: { ...subject, requestId: emittedEventId('reply-1', 'signer', key), protocol: 'request-reply', attempt: 2, attempts: 2, resend: 0, deadline: null } },
    ]);
    const second = decision.emit[1]!.data as SignRequested;
    // The same FAILURE again, before the new request went out: that attempt is over already, nothing more is asked.
    expect(h.send('coreos.build.request.ostree-sign.finished', reply(request, 'FAILURE', { 'failure-message': 'sigul is down' }), { id: 'reply-dup' }).emit.map((e) => [e.topic, (e.data as { next?: string }).next])).toEqual([['relengd.sign.refused', undefined]]);
    expect(h.send('relengd.sign.requested', second).jobs).toMatchObject([{ kind: 'sign-wait', queueKey: `sign-wait:${COMMIT}`, spec: { request: { requestId: second.requestId, attempt: 2 } } }]);
    expect(h.get(SIGNATURES, COMMIT)).toMatchObject({ state: 'requested', request: { requestId: second.requestId, attempt: 2 }, replies: [{ requestId: request.requestId, status: 'FAILURE', failure: 'sigul is down' }, { eventId: 'reply-dup' }] });

    // The ended attempt's wait, should it still time out or send again, changes nothing: the new attempt goes on.
    const stale = h.send('relengd.sign.timed-out', { ...subject, requestId: request.requestId, attempt: 1, attempts: 2, waitedSince: '2026-11-26T10:00:00.000Z', deadline: '2026-11-26T11:00:00.000Z', reason: 'no signature', next: 'retry' });
    expect(stale).toMatchObject({ emit: [], jobs: [] });
    expect(h.send('relengd.sign.requested', { ...request, resend: 1, deadline: '2026-11-26T11:00:00.000Z' })).toMatchObject({ emit: [], jobs: [], patches: [] });
    expect(h.get(SIGNATURES, COMMIT)).toMatchObject({ state: 'requested', request: { requestId: second.requestId, attempt: 2, sent: 1 } });
    // A FAILURE to the older request ends nothing more.
    const old = h.send('coreos.build.request.ostree-sign.finished', reply(request, 'FAILURE', { 'failure-message': 'again' }), { id: 'reply-2' });
    expect(old.emit).toEqual([{ topic: 'relengd.sign.refused', key: 'signer-failed', subject: subject.ref, data: { ...subject, requestId: request.requestId, reason: 'signer-failed', detail: 'again', replyId: 'reply-2' } }]);
    expect(old.jobs).toEqual([]);
    expect(h.get(SIGNATURES, COMMIT)).toMatchObject({ state: 'requested', request: { requestId: second.requestId } });
  });

  it('gives up at a FAILURE reply to the last attempt as at its timeout: the commit is watched, and a later SUCCESS still counts', () => {
    const h = setup('request-reply', 'timeoutMinutes: 60, retries: 0');
    const { request } = requested(h);
    const decision = h.send('coreos.build.request.ostree-sign.finished', reply(request, 'FAILURE', { 'failure-message': 'key unavailable' }), { id: 'reply-1', time: '2026-11-26T10:30:00.000Z' });
    expect(decision.emit).toEqual([{ topic: 'relengd.sign.refused', key: 'signer-failed', subject: subject.ref, data: { ...subject, requestId: request.requestId, reason: 'signer-failed', detail: 'key unavailable', replyId: 'reply-1', next: 'wait-for-late-reply' } }]);
    const until = '2027-02-24T10:30:00.000Z'; // retention.events: 90 days
    expect(decision.jobs).toEqual([
      { kind: 'sign-watch', key: 'watch', queueKey: `sign-watch:${COMMIT}`, spec: { subject, requestId: request.requestId, verification: { keyring: '/etc/relengd/keys', keyIds: [KEY] }, everyMinutes: 15, until } },
    ]);
    expect(h.get(SIGNATURES, COMMIT)).toMatchObject({ state: 'timed-out', gaveUp: { requestId: request.requestId, attempt: 1, attempts: 1, why: 'signer-failed', detail: 'key unavailable', watch: { everyMinutes: 15, until } } });
    // Its wait's timeout comes after: noted, no second watch.
    const late = h.send('relengd.sign.timed-out', { ...subject, requestId: request.requestId, attempt: 1, attempts: 1, waitedSince: '2026-11-26T10:00:00.000Z', deadline: '2026-11-26T11:00:00.000Z', reason: 'no signature', next: 'wait-for-late-reply' });
    expect(late).toMatchObject({ emit: [], jobs: [] });
    expect(h.send('coreos.build.request.ostree-sign.finished', reply(request, 'SUCCESS'), { id: 'reply-2' }).jobs).toMatchObject([{ kind: 'sign-verify', spec: { requestId: request.requestId, replyId: 'reply-2' } }]);
  });

  it('ignores a reply to a request it did not make, or one naming another commit', () => {
    const h = setup();
    const { request } = requested(h);
    expect(h.send('coreos.build.request.ostree-sign.finished', { ...reply(request, 'SUCCESS'), request_id: 'someone-elses' })).toMatchObject({ jobs: [], emit: [], patches: [] });
    expect(h.send('coreos.build.request.ostree-sign.finished', { ...reply(request, 'SUCCESS'), checksum: `sha256:${'b'.repeat(64)}` })).toMatchObject({ jobs: [], emit: [], patches: [] });
    const { request_id: _, ...withoutId } = reply(request, 'SUCCESS');
    expect(h.send('coreos.build.request.ostree-sign.finished', withoutId)).toMatchObject({ jobs: [], emit: [], patches: [] });
  });

  it('asks again under a new request id after a timeout while the retry policy allows, then stops asking', () => {
    const h = setup();
    const { request } = requested(h);
    const timedOut = { ...subject, requestId: request.requestId, attempt: 1, attempts: 2, waitedSince: '2026-11-26T10:00:00.000Z', deadline: '2026-11-26T11:00:00.000Z', reason: 'no signature', next: 'retry' };
    const retry = h.send('relengd.sign.timed-out', timedOut, { id: 'timeout-1' });
    const key = `request:${COMMIT}:2`;
    expect(retry.emit).toEqual([{ topic: 'relengd.sign.requested', key, subject: subject.ref, data: { ...subject, requestId: emittedEventId('timeout-1', 'signer', key), protocol: 'request-reply', attempt: 2, attempts: 2, resend: 0, deadline: null } }]);
    const second = retry.emit[0]!.data as SignRequested;
    h.send('relengd.sign.requested', second);
    const last = h.send('relengd.sign.timed-out', { ...timedOut, requestId: second.requestId, attempt: 2, next: 'wait-for-late-reply' });
    expect(last.emit).toEqual([]);
    expect(h.get(SIGNATURES, COMMIT)).toMatchObject({ state: 'timed-out', timeouts: [{ attempt: 1, next: 'retry' }, { attempt: 2, next: 'wait-for-late-reply' }], gaveUp: { why: 'timed-out', requestId: second.requestId } });
    // Nothing is asked any more; a job watches the commit for a signature that comes late without a reply.
    expect(last.jobs).toMatchObject([{ kind: 'sign-watch', queueKey: `sign-watch:${COMMIT}`, spec: { requestId: second.requestId, everyMinutes: 15 } }]);

    expect(gaveUpPhrase(h.get(SIGNATURES, COMMIT) as SignatureRecord)).toBe(
      'timed out at 2026-11-26T10:00:00.000Z (attempt 2 of 2): no signature; no more requests, a late reply still counts, and the commit is checked for a late signature every 15 minutes until 2027-02-24T10:00:00.000Z',
    );

    // A late reply, to either request, is still checked.
    expect(h.send('coreos.build.request.ostree-sign.finished', reply(request, 'SUCCESS'), { id: 'late' }).jobs).toMatchObject([{ kind: 'sign-verify', spec: { requestId: request.requestId, replyId: 'late' } }]);
  });

  it('asks again for a commit it gave up on when a promotion needs it: no longer given up, so its watch ends', () => {
    const h = setup('robosignatory', 'timeoutMinutes: 60, retries: 0');
    const { request } = requested(h);
    const last = h.send('relengd.sign.timed-out', { ...subject, requestId: request.requestId, attempt: 1, attempts: 1, waitedSince: '2026-11-26T10:00:00.000Z', deadline: '2026-11-26T11:00:00.000Z', reason: 'no signature', next: 'wait-for-late-reply' });
    expect(last.jobs).toMatchObject([{ kind: 'sign-watch' }]);
    const again = h.send('relengd.release.awaiting-signature', { group: 'f26-atomic-host', version: '26.20261126.0', jobId: 'promote-1', plan: [{ ref: 'fedora/26/x86_64/atomic-host', arch: 'x86_64', from: null, to: COMMIT }], commits: [{ ...subject, purpose: 'release' }] });
    expect(again.emit).toMatchObject([{ topic: 'relengd.sign.requested', data: { attempt: 2, attempts: 2 } }]);
    const record = h.get(SIGNATURES, COMMIT) as SignatureRecord;
    expect(record.state).toBe('requested');
    expect(record.gaveUp).toBeUndefined();
  });

  it('has the release commits a promotion wrote signed, and does not ask again for one being signed', () => {
    const h = setup();
    requested(h);
    const release = { ...subject, commit: 'c'.repeat(64), ref: 'fedora/26/x86_64/atomic-host', purpose: 'release' as const };
    const decision = h.send('relengd.release.awaiting-signature', {
      group: 'f26-atomic-host',
      version: '26.20261126.0',
      jobId: 'promote-1',
      plan: [{ ref: release.ref, arch: 'x86_64', from: null, to: release.commit }],
      commits: [release, { ...subject, purpose: 'release' }],
    });
    expect(decision.emit.map((e) => [e.topic, (e.data as SignRequested).commit, (e.data as SignRequested).purpose])).toEqual([['relengd.sign.requested', release.commit, 'release']]);
    expect(h.get(SIGNATURES, COMMIT)).toMatchObject({ purposes: ['candidate', 'release'] });
  });
});
