/**
 * The signing saga's endings, end to end in one process: the demo's two-week pipeline with real
 * OSTree commits, real GnuPG keys, on a clock the test moves. Robosignatory never replies, so a
 * commit it signs after the last retry timed out counts only because a job keeps watching the
 * repository; and a signer's FAILURE reply ends its attempt at once instead of at the timeout.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedTransport } from '../../src/bus/embedded/transport.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { DEMO_ARCHES, DEMO_GROUP, DEMO_SIGNER, DEMO_VERSION, demoConfigYaml, demoSteps, demoTreefile } from '../../src/cli/demo/scenario.ts';
import { replyDelivery, signCommit } from '../../src/cli/demo/standin-signer.ts';
import { stopAgent, throwawayKey } from '../../src/cli/demo/throwaway-key.ts';
import { fixedClock } from '../../src/clock.ts';
import { parseConfig, type Config } from '../../src/config/index.ts';
import type { Envelope } from '../../src/events/envelope.ts';
import type { OstreeSignRequest } from '../../src/events/inbound/sign.ts';
import type { PungiComposeOstree } from '../../src/events/inbound/pungi.ts';
import type { SignWaitJobSpec } from '../../src/jobs/executors/sign-specs.ts';
import { jobDirName } from '../../src/jobs/runner.ts';
import { silentLogger } from '../../src/log.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { candidateGates } from '../../src/pipeline/candidate-reads.ts';
import { PROMOTION, type Candidate } from '../../src/pipeline/listeners/promoter.ts';
import { tempDir } from '../helpers/tmp.ts';
import { syncStore } from '../helpers/sync-store.ts';

const PREFIX = 'org.fedoraproject.prod';
const WAIT = { timeout: 90_000, interval: 50 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The demo's two-week streams, signed by `protocol` with a throwaway key, `retries` new requests after a timeout. */
async function signedPipeline(options: { protocol: 'robosignatory' | 'request-reply'; retries: number }) {
  const dir = tempDir();
  const key = await throwawayKey(join(dir, 'signer'));
  cleanups.push(() => stopAgent(key.gpgHome));
  mkdirSync(join(dir, 'compose'), { recursive: true });
  for (const arch of DEMO_ARCHES) writeFileSync(join(dir, 'compose', `fedora-atomic-host-${arch}.json`), JSON.stringify(demoTreefile(arch)));
  const yaml = demoConfigYaml(dir, process.execPath, { signing: { keyring: key.keyring, keyId: key.fingerprint } })
    .replaceAll('protocol: request-reply', `protocol: ${options.protocol}`)
    .replaceAll('      timeoutMinutes: 60', `      timeoutMinutes: 60\n      retries: ${options.retries}`);
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
  const send = (message: { topic: string; data: unknown; id?: string; publisher?: string }) =>
    transport.inject([{ transport: 'test', source: 'live', raw: Buffer.from(JSON.stringify(message.data)), headers: {}, decoded: message }]);
  const feed = async (index: number) => {
    const step = steps[index]!;
    if (step.prepare) writeFileSync(step.prepare.file, JSON.stringify(step.prepare.content));
    return send(step.message);
  };
  const stored = (topic: string) => syncStore(daemon.store).events.query({ topic, order: 'asc' }).map((e) => e.envelope.data as Record<string, unknown>);
  const candidate = () => syncStore(daemon.store).state.get(PROMOTION, `${DEMO_GROUP}/${DEMO_VERSION}`) as Candidate | undefined;
  const signedGate = async () => (await candidateGates(daemon.store, config, candidate()!, (e) => e.envelope.id, 500)).find((g) => g.label === 'signed');
  /** The waits of attempt `attempt` have begun (their deadline is set): the clock may move. */
  const waitsBegun = (attempt: number) =>
    vi.waitFor(() => {
      const jobs = syncStore(daemon.store).jobs.list({ kind: 'sign-wait', state: 'running' }).filter((j) => (j.spec as SignWaitJobSpec).request.attempt === attempt);
      expect(jobs).toHaveLength(DEMO_ARCHES.length);
      for (const job of jobs) expect(existsSync(join(config.jobs.workdir, jobDirName(job.id), 'wait.json'))).toBe(true);
    }, WAIT);
  return { daemon, config, clock, key, repo, published, send, feed, stored, candidate, signedGate, waitsBegun, transport };
}

describe('a late signature', () => {
  it('robosignatory signs after the last retry timed out: the watch finds the signature in the repository and the signed gate holds', { timeout: 240_000 }, async () => {
    const p = await signedPipeline({ protocol: 'robosignatory', retries: 1 });
    const announcements = () => p.published.filter((e) => e.topic === 'pungi.compose.ostree').map((e) => e.data as PungiComposeOstree);
    await p.feed(0); // Bodhi: both arches compose, each commit is announced for robosignatory
    await vi.waitFor(() => expect(announcements()).toHaveLength(2), WAIT);
    await p.feed(2); // Greenwave passes: only the signature holds the candidate
    await vi.waitFor(async () => expect((await p.signedGate())?.state).toBe('pending'), WAIT);

    // Both attempts time out unsigned: relengd stops asking.
    await p.waitsBegun(1);
    p.clock.advance(61 * 60_000);
    await vi.waitFor(() => expect(announcements()).toHaveLength(4), WAIT);
    await p.waitsBegun(2);
    p.clock.advance(61 * 60_000);
    await vi.waitFor(() => expect(p.stored('relengd.sign.timed-out').map((t) => t.next)).toEqual(['retry', 'retry', 'wait-for-late-reply', 'wait-for-late-reply']), WAIT);
    await vi.waitFor(async () => expect((await p.signedGate())?.detail).toMatch(/x86_64: timed out at .* \(attempt 2 of 2\): .*checked for a late signature every 15 minutes until /), WAIT);
    await vi.waitFor(async () => expect(await p.daemon.store.jobs.list({ kind: 'sign-watch', state: 'running' })).toHaveLength(2), WAIT);
    expect(p.stored('relengd.sign.verified')).toEqual([]);

    // Robosignatory gets to it late and writes the signatures into the repository; nothing replies.
    for (const { commitid } of announcements().slice(0, 2)) await signCommit({ repo: p.repo.path, commit: commitid! }, p.key);
    // Nothing counts until the watch looks again, a quarter of an hour on.
    expect(announcements()).toHaveLength(4);
    p.clock.advance(15 * 60_000);
    await vi.waitFor(() => expect(p.stored('relengd.sign.verified').filter((v) => v.purpose === 'candidate')).toHaveLength(2), WAIT);
    expect(p.stored('relengd.sign.verified').filter((v) => v.purpose === 'candidate').map((v) => v.by)).toEqual(['watch', 'watch']);
    await vi.waitFor(async () => expect(await p.signedGate()).toMatchObject({ state: 'passed', detail: expect.stringMatching(/^x86_64: signed by .*; aarch64: signed by /) }), WAIT);
    // Its work done, the watch ends; nothing was announced again after the policy gave up.
    await vi.waitFor(async () => expect(await p.daemon.store.jobs.list({ kind: 'sign-watch', state: 'succeeded' })).toHaveLength(2), WAIT);
    expect(announcements()).toHaveLength(4);
  });
});

describe("a signer's FAILURE reply", () => {
  it('asks again at once under a new request id (the ended attempt\'s wait stops), and a FAILURE to the last attempt gives up', { timeout: 240_000 }, async () => {
    const p = await signedPipeline({ protocol: 'request-reply', retries: 1 });
    const requests = () => p.published.filter((e) => e.topic === 'coreos.build.request.ostree-sign').map((e) => e.data as OstreeSignRequest);
    const fail = (request: OstreeSignRequest, failure: string) => p.transport.inject([replyDelivery(request, { status: 'FAILURE', failure, publisher: DEMO_SIGNER, topicPrefix: PREFIX })]);
    await p.feed(0);
    await vi.waitFor(() => expect(requests()).toHaveLength(2), WAIT);
    await p.waitsBegun(1);
    const [first] = requests() as [OstreeSignRequest];

    // The signer fails the first commit's request: a new one goes out now, not an hour later.
    await fail(first, 'sigul is down');
    await vi.waitFor(() => expect(requests()).toHaveLength(3), WAIT);
    const retried = requests()[2]!;
    expect(retried).toMatchObject({ checksum: first.checksum });
    expect(retried.request_id).not.toBe(first.request_id);
    expect(p.stored('relengd.sign.refused')).toMatchObject([{ requestId: first.request_id, reason: 'signer-failed', next: 'retry' }]);
    // The ended attempt's wait stops, the new attempt's begins (its deadline an hour from now).
    await vi.waitFor(() => {
      const waits = syncStore(p.daemon.store).jobs.list({ kind: 'sign-wait' }).filter((j) => (j.spec as SignWaitJobSpec).request.commit === first.checksum.slice('sha256:'.length));
      const byAttempt = waits.map((j) => [(j.spec as SignWaitJobSpec).request.attempt, j.state, (j.result as { outcome?: string } | null)?.outcome ?? null] as const).sort((a, b) => a[0] - b[0]);
      expect(byAttempt).toEqual([
        [1, 'succeeded', 'superseded'],
        [2, 'running', null],
      ]);
    }, WAIT);
    await vi.waitFor(async () => expect((await p.daemon.store.jobs.list({ kind: 'sign-wait', state: 'running' })).map((j) => existsSync(join(p.config.jobs.workdir, jobDirName(j.id), 'wait.json')))).toEqual([true, true]), WAIT);

    expect(p.stored('relengd.sign.timed-out')).toEqual([]);

    // The signer fails the last attempt too: the policy gives up; a SUCCESS after that still counts.
    await fail(retried, 'key unavailable');
    await vi.waitFor(() => expect(p.stored('relengd.sign.refused')).toMatchObject([{ next: 'retry' }, { requestId: retried.request_id, next: 'wait-for-late-reply' }]), WAIT);
    await vi.waitFor(async () => expect((await p.daemon.store.jobs.list({ kind: 'sign-watch' })).map((j) => (j.spec as { requestId: string }).requestId)).toEqual([retried.request_id]), WAIT);
    await signCommit({ repo: p.repo.path, commit: retried.checksum.slice('sha256:'.length) }, p.key);
    await p.transport.inject([replyDelivery(retried, { status: 'SUCCESS', publisher: DEMO_SIGNER, topicPrefix: PREFIX })]);
    await vi.waitFor(() => expect(p.stored('relengd.sign.verified')).toMatchObject([{ commit: retried.checksum.slice('sha256:'.length), by: 'reply', requestId: retried.request_id }]), WAIT);
    // The watch ends once the commit is verified, without a look of its own.
    await vi.waitFor(async () => expect((await p.daemon.store.jobs.list({ kind: 'sign-watch' })).map((j) => [j.state, (j.result as { outcome?: string } | null)?.outcome])).toEqual([['succeeded', 'ended']]), WAIT);
  });
});
