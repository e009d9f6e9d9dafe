/**
 * Waiting for a signature: the effect half of the signing saga (the decisions are the signer
 * listener's). One job waits for one sending of a request. It never sends anything itself when it
 * starts, so running it again after a crash sends nothing twice; it reads back from its job
 * directory when its wait began, so the deadline stays where it was. It ends without a word when
 * its request is no longer the one in play (the signer refused it and relengd asked again, or gave
 * up): that attempt is over, and its timeout must not count against the next.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OstreeRepo } from '../../ostree/index.ts';
import { subjectOf, type SignRefused, type SignRequested, type SignSubject, type SignTimedOut, type SignVerified } from '../../events/relengd/sign.ts';
import { sleep } from '../../retry.ts';
import { JobInterruptedError, type Executor, type JobContext, type JobEmit, type JobOutcome } from '../executor.ts';
import { checkSubject, describeSignatures } from './sign-check.ts';
import { registryRun } from './registry-access.ts';
import { SignWaitJobSpec, type SigningStand } from './sign-specs.ts';

/** How often a waiting job looks at the commit: from `initialMs`, doubling, at most `maxMs` apart. */
export interface SignPoll {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_SIGN_POLL: SignPoll = { initialMs: 1000, maxMs: 30_000 };

export interface SignExecutorDeps {
  openRepo: (path: string) => OstreeRepo;
  signPoll?: SignPoll | undefined;
  /** Where the saga's records say the commit's signing stands; without it, a wait goes on to its deadline. */
  signingStand?: ((commit: string) => Promise<SigningStand | null>) | undefined;
}

/** The stand, or undefined when it cannot be told (no reader, or the store refused the read: the wait goes on). */
export async function standOf(deps: SignExecutorDeps, commit: string, log: JobContext['logger']): Promise<SigningStand | null | undefined> {
  if (!deps.signingStand) return undefined;
  try {
    return await deps.signingStand(commit);
  } catch (error) {
    log.warn({ err: error }, 'could not read where the signing stands; waiting on');
    return undefined;
  }
}

/** What the first attempt of the job decided, kept in its directory for the attempts after a crash. */
interface WaitState {
  startedAt: string;
  deadline: string;
  /** When the request is to be sent again; null: not before the deadline. */
  resendAt: string | null;
}

const stateFile = (workdir: string): string => join(workdir, 'wait.json');

function readWait(workdir: string): WaitState | null {
  const file = stateFile(workdir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as WaitState) : null;
}

function startWait(workdir: string, spec: SignWaitJobSpec, now: Date): WaitState {
  const deadline = spec.request.deadline ? new Date(spec.request.deadline) : new Date(now.getTime() + spec.timeoutMinutes * 60_000);
  const resend = spec.resendMinutes === undefined ? null : new Date(now.getTime() + spec.resendMinutes * 60_000);
  const state: WaitState = { startedAt: now.toISOString(), deadline: deadline.toISOString(), resendAt: resend && resend < deadline ? resend.toISOString() : null };
  // Written whole or not at all: a crash mid-write must not lose when the wait began.
  writeFileSync(`${stateFile(workdir)}.tmp`, JSON.stringify(state));
  renameSync(`${stateFile(workdir)}.tmp`, stateFile(workdir));
  return state;
}

export function signWaitExecutor(deps: SignExecutorDeps): Executor {
  const poll = deps.signPoll ?? DEFAULT_SIGN_POLL;
  return {
    kind: 'sign-wait',
    // An hour's wait for a signer must not hold one of the slots composes and builds need.
    waits: true,
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = SignWaitJobSpec.parse(ctx.job.spec);
      const { request } = spec;
      const earlier = readWait(ctx.workdir);
      const wait = earlier ?? startWait(ctx.workdir, spec, ctx.now());
      const log = ctx.logger.child({ commit: request.commit, requestId: request.requestId, attempt: request.attempt, resend: request.resend });
      if (earlier) log.info({ since: wait.startedAt, deadline: wait.deadline }, 'resuming the wait for a signature begun by an earlier attempt; nothing is sent again');
      else log.info({ deadline: wait.deadline, resendAt: wait.resendAt }, 'waiting for a signature');
      // A commit is checked in its repository, an image's manifest in the registry (./sign-check.ts).
      const sources = { openRepo: deps.openRepo, run: registryRun(ctx) };
      for (let round = 0; ; round++) {
        const check = await checkSubject(request, spec.verification, sources);
        if (check.valid) {
          log.info({ keyId: check.valid.keyId }, 'commit signed');
          const data: SignVerified = { ...subjectOf(request), requestId: request.requestId, keyId: check.valid.keyId, signer: check.valid.signer, by: 'wait' };
          return { state: 'succeeded', result: { outcome: 'verified', keyId: check.valid.keyId }, emit: [{ topic: 'relengd.sign.verified', key: 'verified', subject: request.ref, data }] };
        }
        const stand = await standOf(deps, request.commit, log);
        if (stand !== undefined && (stand === null || stand.state !== 'requested' || stand.requestId !== request.requestId)) {
          log.info({ stand }, 'the request is no longer the one in play: this wait ends');
          return { state: 'succeeded', result: { outcome: 'superseded', stand }, emit: [] };
        }
        const now = ctx.now();
        if (now >= new Date(wait.deadline)) {
          const reason = `no good signature within ${spec.timeoutMinutes} minutes of the request: ${describeSignatures(check, spec.verification)}`;
          log.warn({ reason }, 'signature timed out');
          return { state: 'succeeded', result: { outcome: 'timed-out' }, emit: [timedOut(request, wait, reason)] };
        }
        if (wait.resendAt !== null && now >= new Date(wait.resendAt)) {
          log.info('no signature yet: sending the request again');
          const data: SignRequested = { ...request, resend: request.resend + 1, deadline: wait.deadline };
          return { state: 'succeeded', result: { outcome: 'resend' }, emit: [{ topic: 'relengd.sign.requested', key: 'resend', subject: request.ref, data }] };
        }
        await sleep(Math.min(poll.maxMs, poll.initialMs * 2 ** Math.min(round, 20)), ctx.signal);
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new JobInterruptedError();
      }
    },
    // The saga must hear of a wait that could not go on (no keyring, no such commit): status shows it.
    failureEvents(job, error) {
      const spec = SignWaitJobSpec.safeParse(job.spec);
      return spec.success ? [checkFailed(spec.data.request, spec.data.request.requestId, null, error)] : [];
    },
  };
}

function timedOut(request: SignRequested, wait: WaitState, reason: string): JobEmit {
  const data: SignTimedOut = {
    ...subjectOf(request),
    requestId: request.requestId,
    attempt: request.attempt,
    attempts: request.attempts,
    waitedSince: wait.startedAt,
    deadline: wait.deadline,
    reason,
    next: request.attempt < request.attempts ? 'retry' : 'wait-for-late-reply',
  };
  return { topic: 'relengd.sign.timed-out', key: 'timed-out', subject: request.ref, data };
}

/** `relengd.sign.refused` saying the signature could not be checked at all. */
export function checkFailed(subject: SignSubject, requestId: string, replyId: string | null, error: string): JobEmit {
  const data: SignRefused = { ...subjectOf(subject), requestId, reason: 'check-failed', detail: error, replyId };
  return { topic: 'relengd.sign.refused', key: 'check-failed', subject: subject.ref, data };
}
