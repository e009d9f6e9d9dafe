/**
 * Signing as a request and its reply, end to end in one process: the demo's two-week pipeline with
 * real OSTree commits, real GnuPG keys and the stand-in signer, on a clock the test moves (a
 * signature's timeout costs no real hour). A release goes out only signed; a timeout is an event and
 * a late reply still counts; a signature by another key, or a reply from an outsider, signs nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedTransport } from '../../src/bus/embedded/transport.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { DEMO_ARCHES, DEMO_GROUP, DEMO_SIGNER, DEMO_VERSION, demoConfigYaml, demoSteps, demoTreefile } from '../../src/cli/demo/scenario.ts';
import { replyDelivery, signCommit, StandinSigner } from '../../src/cli/demo/standin-signer.ts';
import { stopAgent, throwawayKey, type SigningKey } from '../../src/cli/demo/throwaway-key.ts';
import { fixedClock } from '../../src/clock.ts';
import { parseConfig, type Config } from '../../src/config/index.ts';
import type { Envelope } from '../../src/events/envelope.ts';
import type { OstreeSignRequest } from '../../src/events/inbound/sign.ts';
import { silentLogger } from '../../src/log.ts';
import { madeByOneOf, openRepo } from '../../src/ostree/index.ts';
import { candidateGates } from '../../src/pipeline/candidate-reads.ts';
import { PROMOTION, type Candidate } from '../../src/pipeline/listeners/promoter.ts';
import { RELEASES, type ReleaseHistory } from '../../src/pipeline/listeners/release-history.ts';
import { rollbackOutcomeOf } from '../../src/cli/promotion-outcome.ts';
import { eventView } from '../../src/store/events.ts';
import { tempDir } from '../helpers/tmp.ts';
import { syncStore } from '../helpers/sync-store.ts';

const PREFIX = 'org.fedoraproject.prod';
const WAIT = { timeout: 90_000, interval: 50 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The demo's two-week streams, signed by request and reply with a throwaway key (`retries` new requests after a timeout). */
async function signedPipeline(options: { retries: number }) {
  const dir = tempDir();
  const key = await throwawayKey(join(dir, 'signer'));
  const other = await throwawayKey(join(dir, 'other-signer'), 'someone else <else@example.org>');
  cleanups.push(() => Promise.all([stopAgent(key.gpgHome), stopAgent(other.gpgHome)]).then(() => undefined));
  mkdirSync(join(dir, 'compose'), { recursive: true });
  for (const arch of DEMO_ARCHES) writeFileSync(join(dir, 'compose', `fedora-atomic-host-${arch}.json`), JSON.stringify(demoTreefile(arch)));
  const yaml = demoConfigYaml(dir, process.execPath, { signing: { keyring: key.keyring, keyId: key.fingerprint } }).replaceAll('      timeoutMinutes: 60', `      timeoutMinutes: 60\n      retries: ${options.retries}`);
  const config: Config = parseConfig(yaml, {});
  const repo = openRepo(join(dir, 'repo'));
  await repo.init('archive');
  const clock = fixedClock('2026-11-26T10:00:00Z');
  const transport = new EmbeddedTransport();
  const published: Envelope[] = [];
  transport.subscribe('#', (item) => published.push(item.envelope));
  const daemon: Daemon = await startDaemon({ config, logger: silentLogger(), transport, serveHttp: false, clock, signPoll: { initialMs: 20, maxMs: 100 } });
  cleanups.push(() => daemon.stop());
  const steps = demoSteps(dir);

  const send = (message: { topic: string; data: unknown; id?: string; publisher?: string }, source: 'live' | 'operator' = 'live') =>
    transport.inject([{ transport: 'test', source, raw: Buffer.from(JSON.stringify(message.data)), headers: {}, decoded: message }]);
  const feed = async (index: number, alter: (step: (typeof steps)[number]) => (typeof steps)[number] = (x) => x) => {
    const step = alter(steps[index]!);
    if (step.prepare) writeFileSync(step.prepare.file, JSON.stringify(step.prepare.content));
    return send(step.message);
  };
  const stored = (topic: string) => syncStore(daemon.store).events.query({ topic, order: 'asc' }).map((e) => e.envelope.data as Record<string, unknown>);
  const requests = () => published.filter((e) => e.topic === 'coreos.build.request.ostree-sign').map((e) => e.data as OstreeSignRequest);
  const reply = (request: OstreeSignRequest, publisher: string) => transport.inject([replyDelivery(request, { status: 'SUCCESS', publisher, topicPrefix: PREFIX })]);
  const candidate = () => syncStore(daemon.store).state.get(PROMOTION, `${DEMO_GROUP}/${DEMO_VERSION}`) as Candidate | undefined;
  const signedGate = async () => (await candidateGates(daemon.store, config, candidate()!, (e) => e.envelope.id, 500)).find((g) => g.label === 'signed');
  const targetOf = (request: OstreeSignRequest) => ({ repo: repo.path, commit: request.checksum.slice('sha256:'.length) });
  return { daemon, config, clock, key, other, repo, published, send, feed, stored, requests, reply, candidate, signedGate, targetOf, transport };
}

describe('signed releases', () => {
  it('holds a tested release while unsigned; a timeout is an event, and a late reply still counts', { timeout: 240_000 }, async () => {
    const p = await signedPipeline({ retries: 0 });
    await p.feed(0); // Bodhi: both arches compose, each commit's signature is requested
    await vi.waitFor(() => expect(p.requests()).toHaveLength(2), WAIT);
    await vi.waitFor(() => expect(p.stored('relengd.compose.finished')).toHaveLength(2), WAIT);
    expect(p.requests().map((r) => r.build_id)).toEqual([DEMO_VERSION, DEMO_VERSION]);

    // Greenwave passes the compose: every configured gate holds, but nothing is signed yet.
    await p.feed(2);
    await vi.waitFor(async () => expect(await p.signedGate()).toMatchObject({ state: 'pending', detail: expect.stringMatching(/^x86_64: requested at .*; aarch64: requested at /) }), WAIT);
    expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toEqual([]);
    // An operator's promotion, even forced, is refused while unsigned.
    await p.send({ topic: `${PREFIX}.relengd.release.promote.requested`, data: { group: DEMO_GROUP, version: DEMO_VERSION, force: true }, publisher: 'local:releng' }, 'operator');
    await vi.waitFor(() => expect(p.stored('relengd.release.promotion.refused')).toMatchObject([{ reason: 'unsigned', detail: expect.stringContaining('is not signed: the signature is pending') }]), WAIT);

    // An hour passes without a signature: each request times out, and (retries: 0) relengd stops asking.
    p.clock.advance(61 * 60_000);
    await vi.waitFor(() => expect(p.stored('relengd.sign.timed-out')).toHaveLength(2), WAIT);
    expect(p.stored('relengd.sign.timed-out').map((t) => t.next)).toEqual(['wait-for-late-reply', 'wait-for-late-reply']);
    await vi.waitFor(async () => expect((await p.signedGate())?.detail).toMatch(/x86_64: timed out at .* \(attempt 1 of 1\): no good signature within 60 minutes.*a late reply still counts/), WAIT);
    expect(p.candidate()?.phase).toBe('open');

    // The signer catches up: it signs and replies late. From now on it answers at once (the release commits).
    const signer = new StandinSigner({ key: p.key, deliver: (batch) => p.transport.inject(batch), publisher: DEMO_SIGNER, topicPrefix: PREFIX, logger: silentLogger() });
    const detach = signer.attach(p.transport);
    for (const request of p.requests()) {
      await signCommit(p.targetOf(request), p.key);
      await p.reply(request, DEMO_SIGNER);
    }
    await vi.waitFor(() => expect(p.stored('relengd.release.promoted')).toHaveLength(1), WAIT);
    detach();
    await signer.idle();

    const verified = p.stored('relengd.sign.verified');
    expect(verified.filter((v) => v.purpose === 'candidate' && v.by === 'reply')).toHaveLength(2);
    expect(p.stored('relengd.release.awaiting-signature')).toHaveLength(1);
    // Every release ref points at a promotion commit that carries a good signature by the configured key.
    for (const { ref, to } of p.stored('relengd.release.promoted')[0]!.refs as Array<{ ref: string; to: string }>) {
      expect(await p.repo.revParse(ref)).toBe(to);
      const signatures = await p.repo.gpgSignatures(to, p.key.keyring);
      expect(signatures.some((s) => s.status === 'good' && madeByOneOf(s, [p.key.fingerprint]))).toBe(true);
    }
    expect((p.stored('relengd.release.promoted')[0]!.gates as string[]).at(-1)).toBe(`signed by ${p.key.fingerprint.slice(-16)}`);
  });

  it("refuses a signature by another key and an outsider's reply; the wait goes on and ends with the right signature", { timeout: 240_000 }, async () => {
    const p = await signedPipeline({ retries: 2 });
    await p.feed(0);
    await vi.waitFor(() => expect(p.requests()).toHaveLength(2), WAIT);
    await vi.waitFor(() => expect(p.stored('relengd.compose.finished')).toHaveLength(2), WAIT);
    const [first, second] = p.requests() as [OstreeSignRequest, OstreeSignRequest];

    // An outsider answers for the signer: refused at the door, never stored, nothing checked.
    const [outsider] = await p.reply(first, 'mallory');
    expect(outsider).toMatchObject({ kind: 'rejected', error: { reason: 'unauthorized' } });
    expect(p.stored('coreos.build.request.ostree-sign.finished')).toEqual([]);

    // The signer signs with the wrong key and says SUCCESS: relengd checks, and refuses it.
    for (const request of [first, second]) {
      await signCommit(p.targetOf(request), p.other);
      await p.reply(request, DEMO_SIGNER);
    }
    await vi.waitFor(() => expect(p.stored('relengd.sign.refused')).toHaveLength(2), WAIT);
    expect(p.stored('relengd.sign.refused')).toMatchObject([
      { reason: 'no-valid-signature', detail: expect.stringContaining('by a key not in the keyring') },
      { reason: 'no-valid-signature', detail: expect.stringContaining('by a key not in the keyring') },
    ]);
    await p.feed(2);
    await vi.waitFor(async () => expect(await p.signedGate()).toMatchObject({ state: 'pending', detail: expect.stringContaining('refused at') }), WAIT);
    expect(p.stored('relengd.sign.verified')).toEqual([]);
    expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toEqual([]);

    // The right signature arrives without a new reply: the waiting jobs see it in the repository.
    const signer = new StandinSigner({ key: p.key, deliver: (batch) => p.transport.inject(batch), publisher: DEMO_SIGNER, topicPrefix: PREFIX, logger: silentLogger() });
    const detach = signer.attach(p.transport);
    for (const request of [first, second]) await signCommit(p.targetOf(request), p.key);
    await vi.waitFor(() => expect(p.stored('relengd.release.promoted')).toHaveLength(1), WAIT);
    detach();
    await signer.idle();
    expect(p.stored('relengd.sign.verified').filter((v) => v.purpose === 'candidate').map((v) => v.by)).toEqual(['wait', 'wait']);
    // One request per commit was ever sent for the candidates: nothing timed out, nothing was asked twice.
    expect(p.requests().filter((r) => r.request_id === first.request_id || r.request_id === second.request_id)).toHaveLength(2);
  });

  it('rolls a signed group back in two steps: the rollback commits are written and signed before any ref moves, then every release ref points at a verified-signed commit', { timeout: 300_000 }, async () => {
    const p = await signedPipeline({ retries: 0 });
    const V2 = '26.20170705.1';
    const releaseRef = (arch: string) => `fedora/26/${arch}/atomic-host`;
    const refs = async () => Object.fromEntries(await Promise.all(DEMO_ARCHES.map(async (arch) => [arch, await p.repo.revParse(releaseRef(arch))])));
    // The signer answers at once while the two versions are released.
    const signer = new StandinSigner({ key: p.key, deliver: (batch) => p.transport.inject(batch), publisher: DEMO_SIGNER, topicPrefix: PREFIX, logger: silentLogger() });
    const detach = signer.attach(p.transport);
    await p.feed(0);
    await vi.waitFor(() => expect(p.stored('relengd.compose.finished')).toHaveLength(2), WAIT);
    await p.feed(2);
    await vi.waitFor(() => expect(p.stored('relengd.release.promoted')).toHaveLength(1), WAIT);
    const v1 = await refs();
    // The day's second push, with a new kernel, and Greenwave passing it.
    await p.feed(0, (step) => ({
      ...step,
      prepare: { file: step.prepare!.file, content: { packages: [...(step.prepare!.content as { packages: string[] }).packages, 'kernel-4.11.9-300.fc26'] } },
      message: { ...step.message, id: 'second-push', time: '2017-07-05T18:00:00+00:00' },
    }));
    await vi.waitFor(() => expect(p.stored('relengd.compose.finished')).toHaveLength(4), WAIT);
    await p.feed(2, (step) => {
      const data = step.message.data as Record<string, unknown>;
      return { ...step, message: { ...step.message, id: 'gw-second', data: { ...data, subject_identifier: `${DEMO_GROUP}-${V2}`, subject: [{ 'productmd.compose.id': `${DEMO_GROUP}-${V2}` }] } } };
    });
    await vi.waitFor(() => expect(p.stored('relengd.release.promoted').map((e) => e.version)).toEqual([DEMO_VERSION, V2]), WAIT);
    detach();
    await signer.idle();
    const v2 = await refs();

    // The rollback: its commits are written and their signatures asked for; no ref moves while they wait.
    const [asked] = await p.send({ topic: `${PREFIX}.relengd.release.rollback.requested`, data: { group: DEMO_GROUP, comment: 'kernel panics' }, publisher: 'local:releng' }, 'operator');
    expect(asked).toMatchObject({ kind: 'committed' });
    await vi.waitFor(() => expect(p.stored('relengd.release.awaiting-signature')).toHaveLength(3), WAIT);
    const awaiting = p.stored('relengd.release.awaiting-signature')[2] as { version: string; jobId: string; plan: Array<{ ref: string; from: string; to: string }>; commits: Array<{ ref: string; commit: string; purpose: string }> };
    expect(awaiting).toMatchObject({ version: DEMO_VERSION, commits: [{ purpose: 'rollback' }, { purpose: 'rollback' }] });
    const rollbackCommits = awaiting.plan.map((m) => m.to);
    expect(awaiting.commits.map((c) => c.commit).sort()).toEqual([...rollbackCommits].sort());
    await vi.waitFor(() => expect(p.requests().filter((r) => rollbackCommits.includes(r.checksum.slice('sha256:'.length)))).toHaveLength(2), WAIT);
    // (Not daemon.idle(): the jobs waiting for the signatures keep it busy.)
    await vi.waitFor(async () => expect((await p.daemon.store.jobs.get(awaiting.jobId))?.state).toBe('succeeded'), WAIT);
    expect(await refs()).toEqual(v2);
    expect(p.stored('relengd.release.rolled-back')).toEqual([]);
    const history = () => syncStore(p.daemon.store).state.get(RELEASES, DEMO_GROUP) as ReleaseHistory;
    expect(history().rollingBack).toMatchObject({ toVersion: DEMO_VERSION, signing: { jobId: awaiting.jobId, commits: awaiting.commits.map((c) => c.commit) } });
    expect(await p.daemon.store.jobs.get(awaiting.jobId)).toMatchObject({ kind: 'rollback', state: 'succeeded', result: { awaitingSignature: expect.any(Array) } });
    // What `relengd rollback --wait` reads of the command's chain: no outcome yet, waiting for the signatures.
    const chain = () => syncStore(p.daemon.store).events.query({ correlationId: asked!.kind === 'committed' ? asked!.id : '', order: 'asc' }).map(eventView);
    expect(rollbackOutcomeOf(chain())).toEqual({ outcome: 'pending', awaitingSignature: awaiting.commits.map((c) => ({ ref: c.ref, commit: c.commit })) });

    // The signer signs them: the rollback resumes with its plan and moves every ref.
    for (const request of p.requests().filter((r) => rollbackCommits.includes(r.checksum.slice('sha256:'.length)))) {
      await signCommit(p.targetOf(request), p.key);
      await p.reply(request, DEMO_SIGNER);
    }
    await vi.waitFor(() => expect(p.stored('relengd.release.rolled-back')).toHaveLength(1), WAIT);
    expect(p.stored('relengd.release.rolled-back')[0]).toMatchObject({ fromVersion: V2, toVersion: DEMO_VERSION, requestedBy: 'local:releng', comment: 'kernel panics' });
    // (The waiting job and the reply's check may each report it.)
    expect([...new Set(p.stored('relengd.sign.verified').filter((v) => v.purpose === 'rollback').map((v) => v.commit as string))].sort()).toEqual([...rollbackCommits].sort());
    const now = await refs();
    for (const arch of DEMO_ARCHES) {
      const commit = now[arch]!;
      expect(rollbackCommits).toContain(commit);
      expect(await p.repo.parentOf(commit)).toBe(v2[arch]);
      expect(await p.repo.sameTree(commit, v1[arch]!)).toBe(true);
      const signatures = await p.repo.gpgSignatures(commit, p.key.keyring);
      expect(signatures.some((s) => s.status === 'good' && madeByOneOf(s, [p.key.fingerprint]))).toBe(true);
    }
    await vi.waitFor(() => expect(history().rollingBack).toBeNull(), WAIT);
    expect(history().current?.version).toBe(DEMO_VERSION);
  });
});
