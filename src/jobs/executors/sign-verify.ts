/**
 * A signer replied that it signed a commit: check that it did. The reply only says when to look;
 * what counts is a good signature by a configured key, verified by `ostree` against the keyring
 * (./sign-check.ts). A reply after the request timed out is checked all the same.
 */
import { subjectOf, type SignRefused, type SignVerified } from '../../events/relengd/sign.ts';
import type { Executor, JobContext, JobOutcome } from '../executor.ts';
import { checkSubject, describeSignatures } from './sign-check.ts';
import { registryRun } from './registry-access.ts';
import { SignVerifyJobSpec } from './sign-specs.ts';
import { checkFailed, type SignExecutorDeps } from './sign-wait.ts';

export function signVerifyExecutor(deps: SignExecutorDeps): Executor {
  return {
    kind: 'sign-verify',
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = SignVerifyJobSpec.parse(ctx.job.spec);
      const { subject } = spec;
      const check = await checkSubject(subject, spec.verification, { openRepo: deps.openRepo, run: registryRun(ctx) });
      if (check.valid) {
        ctx.logger.info({ commit: subject.commit, keyId: check.valid.keyId, replyId: spec.replyId }, 'commit signed, as the signer replied');
        const data: SignVerified = { ...subjectOf(subject), requestId: spec.requestId, keyId: check.valid.keyId, signer: check.valid.signer, by: 'reply', replyId: spec.replyId };
        return { state: 'succeeded', result: { outcome: 'verified', keyId: check.valid.keyId }, emit: [{ topic: 'relengd.sign.verified', key: 'verified', subject: subject.ref, data }] };
      }
      const detail = `the signer replied SUCCESS, but ${describeSignatures(check, spec.verification)}`;
      ctx.logger.warn({ commit: subject.commit, replyId: spec.replyId, detail }, 'signer reply refused');
      const data: SignRefused = { ...subjectOf(subject), requestId: spec.requestId, reason: 'no-valid-signature', detail, replyId: spec.replyId };
      return { state: 'succeeded', result: { outcome: 'refused' }, emit: [{ topic: 'relengd.sign.refused', key: 'refused', subject: subject.ref, data }] };
    },
    failureEvents(job, error) {
      const spec = SignVerifyJobSpec.safeParse(job.spec);
      return spec.success ? [checkFailed(spec.data.subject, spec.data.requestId, spec.data.replyId, error)] : [];
    },
  };
}
