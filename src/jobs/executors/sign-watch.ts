/**
 * Watching for a late signature once the retry policy gave up: robosignatory signs a commit without
 * replying, so a signature made after the last timeout would otherwise never count. The job asks
 * nothing; it checks the commit every `everyMinutes` (clock time) until `until`, and ends sooner
 * when the commit is signed (it emits `relengd.sign.verified`), or the saga's records say nothing
 * waits for it any more (asked for again, verified another way, or pruned). It reads back from its
 * job directory when the watch began, so a restart neither moves its end nor loses it.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { subjectOf, type SignVerified } from '../../events/relengd/sign.ts';
import { sleep } from '../../retry.ts';
import { JobInterruptedError, type Executor, type JobContext, type JobOutcome } from '../executor.ts';
import { checkSubject, describeSignatures } from './sign-check.ts';
import { registryRun } from './registry-access.ts';
import { SignWatchJobSpec } from './sign-specs.ts';
import { checkFailed, DEFAULT_SIGN_POLL, standOf, type SignExecutorDeps } from './sign-wait.ts';

interface WatchState {
  startedAt: string;
  until: string;
}

const stateFile = (workdir: string): string => join(workdir, 'watch.json');

function readWatch(workdir: string): WatchState | null {
  const file = stateFile(workdir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as WatchState) : null;
}

function startWatch(workdir: string, spec: SignWatchJobSpec, now: Date): WatchState {
  const state: WatchState = { startedAt: now.toISOString(), until: spec.until };
  // Written whole or not at all, as sign-wait's wait.json.
  writeFileSync(`${stateFile(workdir)}.tmp`, JSON.stringify(state));
  renameSync(`${stateFile(workdir)}.tmp`, stateFile(workdir));
  return state;
}

export function signWatchExecutor(deps: SignExecutorDeps): Executor {
  const poll = deps.signPoll ?? DEFAULT_SIGN_POLL;
  return {
    kind: 'sign-watch',
    // Days of watching must not hold one of the slots composes and builds need.
    waits: true,
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = SignWatchJobSpec.parse(ctx.job.spec);
      const { subject } = spec;
      const earlier = readWatch(ctx.workdir);
      const watch = earlier ?? startWatch(ctx.workdir, spec, ctx.now());
      const log = ctx.logger.child({ commit: subject.commit, requestId: spec.requestId });
      log.info({ since: watch.startedAt, until: watch.until, everyMinutes: spec.everyMinutes, resumed: earlier !== null }, 'watching for a late signature');
      const sources = { openRepo: deps.openRepo, run: registryRun(ctx) };
      // Not at once: the wait that gave up has just looked. Every `everyMinutes` from the watch's start;
      // a restart after a longer downtime looks at once.
      let nextCheck = new Date(Date.parse(watch.startedAt) + spec.everyMinutes * 60_000);
      for (;;) {
        const stand = await standOf(deps, subject.commit, log);
        if (stand !== undefined && stand?.state !== 'timed-out') {
          log.info({ stand }, 'nothing waits for a late signature any more: the watch ends');
          return { state: 'succeeded', result: { outcome: 'ended', stand }, emit: [] };
        }
        const now = ctx.now();
        const last = now >= new Date(watch.until);
        if (now >= nextCheck || last) {
          const check = await checkSubject(subject, spec.verification, sources);
          if (check.valid) {
            log.info({ keyId: check.valid.keyId }, 'commit signed late');
            const data: SignVerified = { ...subjectOf(subject), requestId: spec.requestId, keyId: check.valid.keyId, signer: check.valid.signer, by: 'watch' };
            return { state: 'succeeded', result: { outcome: 'verified', keyId: check.valid.keyId }, emit: [{ topic: 'relengd.sign.verified', key: 'verified', subject: subject.ref, data }] };
          }
          if (last) {
            log.warn({ reason: describeSignatures(check, spec.verification) }, 'no late signature by the end of the watch');
            return { state: 'succeeded', result: { outcome: 'unsigned' }, emit: [] };
          }
          nextCheck = new Date(now.getTime() + spec.everyMinutes * 60_000);
        }
        // The cadence is the clock's; the real sleep only bounds how soon a moved clock or a changed stand is seen.
        await sleep(poll.maxMs, ctx.signal);
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new JobInterruptedError();
      }
    },
    failureEvents(job, error) {
      const spec = SignWatchJobSpec.safeParse(job.spec);
      return spec.success ? [checkFailed(spec.data.subject, spec.data.requestId ?? '-', null, error)] : [];
    },
  };
}
