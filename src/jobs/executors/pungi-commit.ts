import { CommandFailedError } from '../../errors.ts';
import type { OstreeRepo } from '../../ostree/index.ts';
import type { Executor, JobContext, JobEmit, JobOutcome } from '../executor.ts';
import { PungiCommitJobSpec } from '../specs.ts';

export interface PungiCommitExecutorDeps {
  openRepo: (path: string) => OstreeRepo;
}

/**
 * Checks a commit Pungi announced (`pungi.compose.ostree`) against the compose repository before
 * it counts as the stream's compose: the commit is there, and it belongs to the stream's ref (bound
 * to it, or, for a commit bound to nothing, on the ref's history). The outcome is the stream's
 * `ostree.compose.finished` (artifacts are built from it, the pungi-tracker joins it), or
 * `ostree.compose.failed` naming what is wrong, which the pungi-tracker names in its refusal.
 */
export function pungiCommitExecutor(deps: PungiCommitExecutorDeps): Executor {
  return {
    kind: 'pungi-commit',
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = PungiCommitJobSpec.parse(ctx.job.spec);
      const failed = (error: string): JobOutcome => {
        ctx.logger.warn({ commit: spec.commit, repo: spec.repo, ref: spec.ref, error }, 'Pungi commit refused');
        return { state: 'failed', error, emit: [commitRefused(spec, error, ctx.logPath)] };
      };
      const repo = deps.openRepo(spec.repo);
      if (!repo.exists()) return failed(`the compose repository ${spec.repo} does not exist`);
      try {
        if (!(await repo.hasCommit(spec.commit))) return failed(`commit ${spec.commit} is not in the compose repository ${spec.repo}`);
        const bindings = await repo.refBindings(spec.commit);
        if (bindings.length > 0 && !bindings.includes(spec.ref)) {
          return failed(`commit ${spec.commit} is bound to ${bindings.join(', ')}, not to the stream's ref ${spec.ref}`);
        }
        if (bindings.length === 0) {
          const head = await repo.revParse(spec.ref);
          if (head === null || !(await repo.isAncestor(spec.commit, head))) {
            return failed(`commit ${spec.commit} is not on ${spec.ref} in the compose repository ${spec.repo}${head === null ? ' (no such ref)' : ''}`);
          }
        }
        const parent = await repo.parentOf(spec.commit);
        ctx.logger.info({ commit: spec.commit, ref: spec.ref, pungiComposeId: spec.pungiComposeId }, 'Pungi commit found in the compose repository');
        const data = {
          composeId: spec.composeId,
          causes: spec.causes,
          stream: spec.stream,
          ref: spec.ref,
          commit: spec.commit,
          parent,
          version: spec.version,
          duration: 0,
          pungiComposeId: spec.pungiComposeId,
        };
        return { state: 'succeeded', result: { commit: spec.commit, parent }, emit: [{ topic: 'relengd.ostree.compose.finished', key: 'finished', subject: spec.ref, data }] };
      } catch (error) {
        // An unreadable repository (permissions, corruption) is a failure to report, not a reason to stop waiting forever.
        if (error instanceof CommandFailedError) return failed(`reading the compose repository ${spec.repo}: ${error.message}`);
        throw error;
      }
    },
    failureEvents(job, error, logPath) {
      const spec = PungiCommitJobSpec.safeParse(job.spec);
      return spec.success ? [commitRefused(spec.data, error, logPath)] : [];
    },
  };
}

/** `ostree.compose.failed` for the arch: the pungi-tracker names the arch and this error when the compose ends. */
function commitRefused(spec: PungiCommitJobSpec, error: string, log: string): JobEmit {
  return {
    topic: 'relengd.ostree.compose.failed',
    key: 'failed',
    subject: spec.ref,
    data: { composeId: spec.composeId, stream: spec.stream, ref: spec.ref, version: spec.version, error, log, pungiComposeId: spec.pungiComposeId },
  };
}
