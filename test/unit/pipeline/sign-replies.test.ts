/**
 * A signer's replies are gating facts: they start the check that makes a commit count as signed,
 * so they are taken only from the publishers configured for them. And they are Fedora's messages:
 * the captured CoreOS requests and replies validate, and relengd's own requests are of that shape.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.ts';
import { validateData } from '../../../src/events/validate.ts';
import { silentLogger } from '../../../src/log.ts';
import { Dispatcher } from '../../../src/pipeline/dispatcher.ts';
import { Intake, type Delivery } from '../../../src/pipeline/intake.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { SIGN_REQUESTS, SIGNATURES } from '../../../src/pipeline/listeners/sign-state.ts';
import { Router } from '../../../src/pipeline/router.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { authorize, topicKind } from '../../../src/trust.ts';
import { artifactsAndPromotion, testConfig } from '../../helpers/config.ts';
import { fixturesMissingReason, fixturesPresent, loadFixture } from '../../helpers/fixtures.ts';

const PREFIX = 'org.fedoraproject.prod';
const REPLY = 'coreos.build.request.ostree-sign.finished';
const KEY = 'BC14999267BB3AFC34D5C2F4944A417EBC54647D';
const COMMIT = 'a'.repeat(64);
const stores: Store[] = [];
afterEach(() => stores.splice(0).forEach((s) => s.close()));

describe('who may reply to a signing request', () => {
  const rules = { [REPLY]: ['robosignatory'] };

  it.each([
    { who: 'robosignatory', source: 'live' as const, allowed: true },
    { who: 'mallory', source: 'live' as const, allowed: false },
    { who: undefined, source: 'live' as const, allowed: false },
    { who: 'robosignatory', source: 'replayed' as const, allowed: true },
  ])('a reply from $who ($source) is allowed: $allowed', ({ who, source, allowed }) => {
    expect(topicKind(REPLY)).toBe('gating');
    expect(authorize(REPLY, { identity: who, source }, rules).allowed).toBe(allowed);
  });

  it("never takes relengd's own signing facts from outside: a verified signature is relengd's to say", () => {
    for (const topic of ['relengd.sign.verified', 'relengd.sign.requested', 'relengd.release.awaiting-signature']) {
      expect(authorize(topic, { identity: 'robosignatory', source: 'live' }, { [topic]: ['robosignatory'] })).toMatchObject({ allowed: false, drop: true });
    }
  });

  it('is refused from everyone when no publisher is configured for it', () => {
    expect(authorize(REPLY, { identity: 'robosignatory', source: 'live' }, {})).toMatchObject({ allowed: false, drop: false });
  });

  it("refuses an outsider's reply at the door: not stored, the request still waiting, nothing checked", async () => {
    const store = Store.open(':memory:');
    stores.push(store);
    const config = testConfig('/srv/relengd', {
      stream: (arch) => `${artifactsAndPromotion()(arch)}\n    sign: { protocol: request-reply, keyring: /etc/relengd/keys, keyIds: [${KEY}] }`,
      extra: `publishers: { ${REPLY}: [robosignatory] }`,
    });
    const clock = fixedClock('2026-11-26T12:00:00Z');
    const api = new SqliteStore(store);
    const intake = new Intake({ store: api, config, clock, logger: silentLogger() });
    const dispatcher = new Dispatcher({ store: api, router: new Router(allListeners), config, clock, logger: silentLogger() });
    const delivery = (topic: string, data: unknown, publisher?: string): Delivery => ({ transport: 'test', raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: { topic: `${PREFIX}.${topic}`, data, publisher } });

    // The commit relengd composed is announced; the signer listener asks for its signature.
    const composed = { composeId: 'Fedora-AtomicHost-26-20261126.0', stream: 'f26-atomic-host-x86_64', ref: 'fedora/26/x86_64/updates/atomic-host', commit: COMMIT, parent: null, version: '26.20261126.0', duration: 1 };
    store.transaction(() => store.events.insert({ ...validateEnvelope('relengd.ostree.compose.finished', composed) }, { origin: 'emitted', transport: 'internal', receivedAt: clock.now().toISOString() }));
    await dispatcher.dispatchBatch();
    await dispatcher.dispatchBatch();
    const [requestId] = store.state.list(SIGN_REQUESTS).map((r) => r.key);
    expect(requestId).toBeDefined();
    const reply = { request_id: requestId, build_id: '26.20261126.0', basearch: 'x86_64', commit_object: `file:///srv/relengd/repo/objects/aa/${'a'.repeat(62)}.commit`, checksum: `sha256:${COMMIT}`, status: 'SUCCESS' };

    const [outsider] = await intake.accept([delivery(REPLY, reply, 'mallory')]);
    expect(outsider).toMatchObject({ kind: 'rejected', error: { reason: 'unauthorized' } });
    expect(store.rejected.count()).toBe(1);
    expect(store.events.query({ topic: REPLY })).toEqual([]);
    await dispatcher.dispatchBatch();
    expect(store.jobs.list({ kind: 'sign-verify' })).toEqual([]);
    expect(store.state.get(SIGNATURES, COMMIT)).toMatchObject({ state: 'requested', replies: [] });

    // The configured signer's reply is taken, and gets its check.
    expect(await intake.accept([delivery(REPLY, reply, 'robosignatory')])).toMatchObject([{ kind: 'committed' }]);
    await dispatcher.dispatchBatch();
    expect(store.jobs.list({ kind: 'sign-verify' })).toHaveLength(1);
  });
});

/** A relengd event as the dispatcher would find it stored. */
function validateEnvelope(topic: string, data: unknown) {
  return { id: `${topic}-1`, topic, prefix: PREFIX, type: `org.${topic}`, source: '/relengd/test', time: '2026-11-26T12:00:00.000Z', correlationid: `${topic}-1`, headers: {}, data: validateData(topic, data).data, known: true };
}

const title = fixturesPresent ? "Fedora CoreOS's signing messages" : `Fedora CoreOS's signing messages (skipped: ${fixturesMissingReason})`;

describe.skipIf(!fixturesPresent)(title, () => {
  it.each(['coreos.build.request.ostree-sign.1.json', 'coreos.build.request.ostree-sign.finished.1.json', 'coreos.build.request.artifacts-sign.1.json', 'coreos.build.request.artifacts-sign.finished.1.json'])(
    '%s validates unchanged',
    (file) => {
      const fixture = loadFixture(file);
      const topic = fixture.topic.slice(`${PREFIX}.`.length);
      expect(validateData(topic, structuredClone(fixture.body)).data).toStrictEqual(fixture.body);
    },
  );

  it("relengd's announcement for robosignatory is shaped like Pungi's: the fields both captures carry, and the IoT one's repository path", () => {
    const captures = ['pungi.compose.ostree.1.json', 'pungi.compose.ostree.2.json'].map((f) => loadFixture(f).body as Record<string, unknown>);
    const ours = { ref: 'fedora/26/x86_64/updates/atomic-host', commitid: COMMIT, arch: 'x86_64', variant: 'AtomicHost', compose_id: 'Fedora-AtomicHost-26-20261126.0', local_repo_path: '/srv/relengd/repo' };
    const shared = Object.keys(captures[0]!).filter((k) => Object.hasOwn(captures[1]!, k) && k !== 'location');
    expect(shared.every((k) => Object.hasOwn(ours, k))).toBe(true);
    expect(Object.hasOwn(captures[1]!, 'local_repo_path')).toBe(true);
    expect(validateData('pungi.compose.ostree', ours).data).toEqual(ours);
  });

  it("relengd's request carries every field of the captured one, plus the request_id robosignatory's reply echoes", () => {
    const captured = loadFixture('coreos.build.request.ostree-sign.1.json').body as Record<string, unknown>;
    const ours = { request_id: 'r-1', build_id: '26.20261126.0', basearch: 'x86_64', commit_object: `file:///srv/relengd/repo/objects/aa/${'a'.repeat(62)}.commit`, checksum: `sha256:${COMMIT}` };
    expect(Object.keys(ours).sort()).toEqual([...Object.keys(captured), 'request_id'].sort());
    // robosignatory answers with the request echoed plus its status (as the captured reply shows).
    const capturedReply = loadFixture('coreos.build.request.ostree-sign.finished.1.json').body as Record<string, unknown>;
    const answer = { ...ours, status: capturedReply.status };
    expect(Object.keys(capturedReply).every((k) => k in answer)).toBe(true);
    expect(validateData(REPLY, answer).data).toEqual(answer);
  });
});
