/**
 * The signing jobs and the signed promotion against a real OSTree repository and real GnuPG keys:
 * a signature counts only when ostree verifies it against the configured keyring and it is by a
 * configured key; a wait re-run after a crash keeps its deadline and sends nothing; a promotion
 * moves no ref until the commits it wrote are signed, then exactly those.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stopAgent, throwawayKey, type SigningKey } from '../../../src/cli/demo/throwaway-key.ts';
import type { SignRequested, SignSubject } from '../../../src/events/relengd/sign.ts';
import type { JobOutcome } from '../../../src/jobs/executor.ts';
import { promoteExecutor } from '../../../src/jobs/executors/promote.ts';
import { signVerifyExecutor } from '../../../src/jobs/executors/sign-verify.ts';
import { signWaitExecutor } from '../../../src/jobs/executors/sign-wait.ts';
import { signWatchExecutor } from '../../../src/jobs/executors/sign-watch.ts';
import type { SigningStand } from '../../../src/jobs/executors/sign-specs.ts';
import type { PromoteJobSpec } from '../../../src/jobs/specs.ts';
import { openRepo, type OstreeRepo } from '../../../src/ostree/index.ts';
import { executorContext, newWorkdir } from '../../helpers/executor-context.ts';

const T0 = new Date('2026-11-26T10:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const POLL = { initialMs: 10, maxMs: 40 };

let keys: string;
let good: SigningKey;
let other: SigningKey;
/** Holds both public keys: a good signature by `other` verifies, but `other` is not a configured key. */
let bothKeyring: string;

beforeAll(async () => {
  keys = mkdtempSync(join(tmpdir(), 'relengd-sign-keys-'));
  [good, other] = await Promise.all([throwawayKey(join(keys, 'good'), 'good signer <good@example.org>'), throwawayKey(join(keys, 'other'), 'other signer <other@example.org>')]);
  bothKeyring = join(keys, 'both');
  mkdirSync(bothKeyring);
  copyFileSync(join(good.keyring, 'relengd-standin-signer.gpg'), join(bothKeyring, 'good.gpg'));
  copyFileSync(join(other.keyring, 'relengd-standin-signer.gpg'), join(bothKeyring, 'other.gpg'));
}, 60_000);
afterAll(async () => {
  await Promise.all([stopAgent(good.gpgHome), stopAgent(other.gpgHome)]);
  rmSync(keys, { recursive: true, force: true });
});

let tmp: string;
let repo: OstreeRepo;
beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-sign-'));
  repo = openRepo(join(tmp, 'repo'));
  await repo.init('archive');
  return () => rmSync(tmp, { recursive: true, force: true });
});

let trees = 0;
async function commitOn(ref: string): Promise<string> {
  const dir = join(tmp, 'trees', `t${trees++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'os-release'), `VERSION="${trees}"\n`);
  return repo.commit({ tree: { dir }, branch: ref, subject: `${ref} ${trees}`, metadata: { version: `26.${trees}` } });
}

const subjectFor = (commit: string): SignSubject => ({
  commit,
  repo: repo.path,
  ref: 'fedora/26/x86_64/updates/atomic-host',
  stream: 'f26-atomic-host-x86_64',
  group: 'f26-atomic-host',
  arch: 'x86_64',
  version: '26.20261126.0',
  composeId: 'Fedora-AtomicHost-26-20261126.0',
  purpose: 'candidate',
});
const request = (commit: string, over: Partial<SignRequested> = {}): SignRequested => ({ ...subjectFor(commit), requestId: 'req-1', protocol: 'request-reply', attempt: 1, attempts: 2, resend: 0, deadline: null, ...over });
const verification = () => ({ keyring: good.keyring, keyIds: [good.fingerprint] });

describe('sign-wait', () => {
  const waiter = signWaitExecutor({ openRepo, signPoll: POLL });

  it('ends with the verified signature once the signer has written it', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    const workdir = newWorkdir(tmp);
    const running = waiter.execute(executorContext({ kind: 'sign-wait', workdir, now: () => T0, spec: { request: request(commit), verification: verification(), timeoutMinutes: 60 } }));
    await vi.waitFor(() => expect(existsSync(join(workdir, 'wait.json'))).toBe(true));
    await repo.gpgSign(commit, [good.fingerprint], good.gpgHome);
    const outcome = await running;
    expect(outcome.emit).toEqual([{ topic: 'relengd.sign.verified', key: 'verified', subject: subjectFor(commit).ref, data: { ...subjectFor(commit), requestId: 'req-1', keyId: good.fingerprint.slice(-16), signer: 'good signer <good@example.org>', by: 'wait' } }]);
  });

  it('after a crash, resumes the wait begun before it (same deadline, nothing sent again), and times out with its retry policy', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    const workdir = newWorkdir(tmp);
    const spec = { request: request(commit), verification: verification(), timeoutMinutes: 60 };
    const crash = new AbortController();
    const first = waiter.execute(executorContext({ kind: 'sign-wait', workdir, now: () => T0, spec, signal: crash.signal }));
    await vi.waitFor(() => expect(existsSync(join(workdir, 'wait.json'))).toBe(true));
    crash.abort();
    await expect(first).rejects.toThrow();
    expect(JSON.parse(readFileSync(join(workdir, 'wait.json'), 'utf8'))).toEqual({ startedAt: T0.toISOString(), deadline: minutes(60).toISOString(), resendAt: null });

    // The daemon comes back 61 minutes later: the deadline is the first attempt's, not an hour from now.
    const again = await waiter.execute(executorContext({ kind: 'sign-wait', workdir, now: () => minutes(61), spec, recovering: true }));
    expect(again.emit).toHaveLength(1);
    expect(again.emit[0]).toMatchObject({
      topic: 'relengd.sign.timed-out',
      data: { requestId: 'req-1', attempt: 1, attempts: 2, waitedSince: T0.toISOString(), deadline: minutes(60).toISOString(), next: 'retry', reason: expect.stringContaining('the commit carries no signature') },
    });
  });

  it('sends the request again (the same request id and deadline) when resendMinutes passed', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    const workdir = newWorkdir(tmp);
    let now = T0;
    const running = waiter.execute(executorContext({ kind: 'sign-wait', workdir, now: () => now, spec: { request: request(commit), verification: verification(), timeoutMinutes: 60, resendMinutes: 5 } }));
    await vi.waitFor(() => expect(existsSync(join(workdir, 'wait.json'))).toBe(true));
    now = minutes(5);
    const outcome = await running;
    expect(outcome.emit).toEqual([{ topic: 'relengd.sign.requested', key: 'resend', subject: subjectFor(commit).ref, data: request(commit, { resend: 1, deadline: minutes(60).toISOString() }) }]);
  });

  it('does not take a signature by a key that is not configured, even one the keyring holds: it times out saying so', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    await repo.gpgSign(commit, [other.fingerprint], other.gpgHome);
    const outcome = await waiter.execute(
      executorContext({ kind: 'sign-wait', workdir: newWorkdir(tmp), now: () => minutes(0), spec: { request: request(commit, { deadline: T0.toISOString() }), verification: { keyring: bothKeyring, keyIds: [good.fingerprint] }, timeoutMinutes: 60 } }),
    );
    expect(outcome.emit[0]).toMatchObject({ topic: 'relengd.sign.timed-out', data: { reason: expect.stringContaining(`key ${other.fingerprint.slice(-16)} (other signer <other@example.org>): good, but not by a configured key`) } });
  });
});

describe('sign-wait of an attempt that ended (the signer refused it)', () => {
  it('ends without a word once its request is no longer the one in play, and waits on while it is', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    let stand: SigningStand | null = { state: 'requested', requestId: 'req-1' };
    let reads = 0;
    const waiter = signWaitExecutor({ openRepo, signPoll: POLL, signingStand: async () => (reads++, stand) });
    const workdir = newWorkdir(tmp);
    const running = waiter.execute(executorContext({ kind: 'sign-wait', workdir, now: () => T0, spec: { request: request(commit), verification: verification(), timeoutMinutes: 60 } }));
    await vi.waitFor(() => expect(reads).toBeGreaterThan(2), { timeout: 30_000 });
    stand = { state: 'requested', requestId: 'req-2' };
    expect(await running).toEqual({ state: 'succeeded', result: { outcome: 'superseded', stand }, emit: [] });

    // Given up at a FAILURE to the last attempt: the watch takes over, this wait neither times out nor sends again.
    stand = { state: 'timed-out', requestId: 'req-1' };
    const later = await waiter.execute(executorContext({ kind: 'sign-wait', workdir: newWorkdir(tmp), now: () => minutes(61), spec: { request: request(commit), verification: verification(), timeoutMinutes: 60, resendMinutes: 5 } }));
    expect(later.emit).toEqual([]);
  });
});

describe('sign-watch (the retry policy gave up)', () => {
  const watchSpec = (commit: string, over: Record<string, unknown> = {}) => ({ subject: subjectFor(commit), requestId: 'req-2', verification: verification(), everyMinutes: 15, until: minutes(90 * 24 * 60).toISOString(), ...over });

  it('checks the commit every everyMinutes by the clock and ends with the late signature, found by the watch', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    let reads = 0;
    const watcher = signWatchExecutor({ openRepo, signPoll: POLL, signingStand: async () => (reads++, { state: 'timed-out', requestId: 'req-2' }) });
    const workdir = newWorkdir(tmp);
    let now = T0;
    const running = watcher.execute(executorContext({ kind: 'sign-watch', workdir, now: () => now, spec: watchSpec(commit) }));
    await vi.waitFor(() => expect(existsSync(join(workdir, 'watch.json'))).toBe(true), { timeout: 30_000 });
    await repo.gpgSign(commit, [good.fingerprint], good.gpgHome);
    // Signed, but the next look is 15 minutes (of the clock) after the first: still watching meanwhile.
    const seen = reads;
    await vi.waitFor(() => expect(reads).toBeGreaterThan(seen + 3), { timeout: 30_000 });
    let ended = false;
    void running.then(() => (ended = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    now = minutes(15);
    const outcome = await running;
    expect(outcome.emit).toEqual([{ topic: 'relengd.sign.verified', key: 'verified', subject: subjectFor(commit).ref, data: { ...subjectFor(commit), requestId: 'req-2', keyId: good.fingerprint.slice(-16), signer: 'good signer <good@example.org>', by: 'watch' } }]);
  });

  it('after a crash, resumes the watch begun before it (the same end, read back), and ends unsigned at its end', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    const watcher = signWatchExecutor({ openRepo, signPoll: POLL });
    const workdir = newWorkdir(tmp);
    const crash = new AbortController();
    const first = watcher.execute(executorContext({ kind: 'sign-watch', workdir, now: () => T0, spec: watchSpec(commit, { until: minutes(120).toISOString() }), signal: crash.signal }));
    await vi.waitFor(() => expect(existsSync(join(workdir, 'watch.json'))).toBe(true), { timeout: 30_000 });
    crash.abort();
    await expect(first).rejects.toThrow();
    expect(JSON.parse(readFileSync(join(workdir, 'watch.json'), 'utf8'))).toEqual({ startedAt: T0.toISOString(), until: minutes(120).toISOString() });
    // The spec of the re-run says a later end; the watch keeps the one it began with.
    const again = await watcher.execute(executorContext({ kind: 'sign-watch', workdir, now: () => minutes(121), spec: watchSpec(commit, { until: minutes(999).toISOString() }), recovering: true }));
    expect(again).toEqual({ state: 'succeeded', result: { outcome: 'unsigned' }, emit: [] });
  });

  it('ends without checking when nothing waits for the signature any more: asked for again, verified, or its record pruned', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    await repo.gpgSign(commit, [good.fingerprint], good.gpgHome);
    for (const stand of [{ state: 'requested', requestId: 'req-3' } as const, { state: 'verified', requestId: 'req-2' } as const, null]) {
      const watcher = signWatchExecutor({ openRepo, signPoll: POLL, signingStand: async () => stand });
      const outcome = await watcher.execute(executorContext({ kind: 'sign-watch', workdir: newWorkdir(tmp), now: () => T0, spec: watchSpec(commit) }));
      expect(outcome).toEqual({ state: 'succeeded', result: { outcome: 'ended', stand }, emit: [] });
    }
  });
});

describe('sign-verify (a signer replied SUCCESS)', () => {
  const verifier = signVerifyExecutor({ openRepo });
  const verify = (commit: string, keyring = good.keyring): Promise<JobOutcome> =>
    verifier.execute(executorContext({ kind: 'sign-verify', workdir: newWorkdir(tmp), spec: { subject: subjectFor(commit), requestId: 'req-1', replyId: 'reply-1', verification: { keyring, keyIds: [good.fingerprint] } } }));

  it('counts a good signature by the configured key', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    await repo.gpgSign(commit, [good.fingerprint], good.gpgHome);
    expect((await verify(commit)).emit).toMatchObject([{ topic: 'relengd.sign.verified', data: { commit, by: 'reply', replyId: 'reply-1', keyId: good.fingerprint.slice(-16) } }]);
  });

  it('refuses a signature by another key: one not in the keyring, and one in it that is not configured', async () => {
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    await repo.gpgSign(commit, [other.fingerprint], other.gpgHome);
    expect((await verify(commit)).emit).toMatchObject([{ topic: 'relengd.sign.refused', data: { reason: 'no-valid-signature', detail: expect.stringContaining('by a key not in the keyring') } }]);
    expect((await verify(commit, bothKeyring)).emit).toMatchObject([{ topic: 'relengd.sign.refused', data: { reason: 'no-valid-signature', detail: expect.stringContaining('good, but not by a configured key') } }]);
  });

  it('refuses a good signature of another commit copied onto this one', async () => {
    const signedOne = await commitOn('fedora/26/x86_64/updates/atomic-host');
    const commit = await commitOn('fedora/26/x86_64/updates/atomic-host');
    await repo.gpgSign(signedOne, [good.fingerprint], good.gpgHome);
    const meta = (c: string) => join(repo.path, 'objects', c.slice(0, 2), `${c.slice(2)}.commitmeta`);
    copyFileSync(meta(signedOne), meta(commit));
    expect((await verify(commit)).emit).toMatchObject([{ topic: 'relengd.sign.refused', data: { reason: 'no-valid-signature', detail: expect.stringContaining('BAD (it does not match this commit)') } }]);
  });
});

describe('a signed promotion', () => {
  const promote = promoteExecutor({ openRepo, generator: 'relengd test' });
  const ARCHES = ['x86_64', 'aarch64'] as const;

  async function setup() {
    const candidates: Record<string, string> = {};
    for (const arch of ARCHES) {
      candidates[arch] = await commitOn(`fedora/26/${arch}/updates/atomic-host`);
      await repo.gpgSign(candidates[arch], [good.fingerprint], good.gpgHome);
    }
    const spec: PromoteJobSpec = {
      group: 'f26-atomic-host',
      version: '26.20261126.0',
      force: false,
      requestedBy: null,
      targets: ARCHES.map((arch) => ({ arch, stream: `f26-atomic-host-${arch}`, repo: repo.path, sourceRef: `fedora/26/${arch}/updates/atomic-host`, ref: `fedora/26/${arch}/atomic-host`, commit: candidates[arch]!, composeId: 'Fedora-AtomicHost-26-20261126.0', artifacts: [] })),
      summary: { gpgKey: null },
      deltas: false,
      metadata: null,
      baseUrl: null,
      sign: verification(),
    };
    const run = (s: PromoteJobSpec) => promote.execute(executorContext({ kind: 'promote', id: `promote-${trees}`, workdir: newWorkdir(tmp), now: () => T0, spec: s }));
    return { spec, run };
  }

  it('writes its release commits but moves no ref until they are signed, then moves the refs to exactly those commits', async () => {
    const { spec, run } = await setup();
    const first = await run(spec);
    expect(first.state).toBe('succeeded');
    expect(first.emit).toHaveLength(1);
    const awaiting = first.emit[0]!;
    expect(awaiting.topic).toBe('relengd.release.awaiting-signature');
    const { plan, commits } = awaiting.data as { plan: Array<{ ref: string; arch: string; from: null; to: string }>; commits: SignSubject[] };
    expect(commits.map((c) => [c.ref, c.purpose])).toEqual(ARCHES.map((arch) => [`fedora/26/${arch}/atomic-host`, 'release']));
    for (const arch of ARCHES) expect(await repo.revParse(`fedora/26/${arch}/atomic-host`)).toBeNull();

    for (const { commit } of commits) await repo.gpgSign(commit, [good.fingerprint], good.gpgHome);
    const second = await run({ ...spec, plan: plan.map(({ ref, from, to }) => ({ ref, from, to })) });
    expect(second).toMatchObject({ state: 'succeeded', emit: [{ topic: 'relengd.release.promoted' }] });
    for (const move of plan) expect(await repo.revParse(move.ref)).toBe(move.to);
  });

  it('refuses, moving nothing, when a planned commit is not signed when the refs are to move', async () => {
    const { spec, run } = await setup();
    const first = await run(spec);
    const { plan, commits } = first.emit[0]!.data as { plan: Array<{ ref: string; from: null; to: string }>; commits: SignSubject[] };
    await repo.gpgSign(commits[0]!.commit, [good.fingerprint], good.gpgHome);
    const second = await run({ ...spec, plan: plan.map(({ ref, from, to }) => ({ ref, from, to })) });
    expect(second).toMatchObject({ state: 'failed', emit: [{ topic: 'relengd.release.promotion.refused', data: { reason: 'unsigned', detail: expect.stringContaining('the commit carries no signature') } }] });
    for (const arch of ARCHES) expect(await repo.revParse(`fedora/26/${arch}/atomic-host`)).toBeNull();
  });
});
