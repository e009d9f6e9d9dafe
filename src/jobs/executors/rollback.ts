import { RefConflictError } from '../../errors.ts';
import type { RollbackRefusalReason } from '../../events/relengd/rollback.ts';
import type { OstreeRepo } from '../../ostree/index.ts';
import type { Executor, JobContext, JobEmit, JobOutcome } from '../executor.ts';
import { RollbackJobSpec, type RollbackTarget } from '../specs.ts';
import { moveAll, movedRefs, publishMoves, putBack, readPlan, sourceOf, SOURCE_COMMIT_KEY, writePlan, type PlannedMove, type ReleaseExecutorDeps } from './release-refs.ts';
import { releaseTags } from './release-tags.ts';
import { releaseSignatures } from './sign-release.ts';
import { streamMetadata, writeJsonAtomically } from './stream-metadata.ts';

/** Commit metadata of a rollback commit: the version it took off the release ref. */
export const ROLLED_BACK_FROM_KEY = 'relengd.rolled-back-from';

/**
 * Moves a group's release refs back to an earlier promoted version, all arches or none
 * (./release-refs.ts). Each ref gets a NEW commit holding the earlier release's tree, bound to the
 * release ref, whose parent is the release commit it replaces: installed machines
 * (`ostree admin upgrade`, which refuses to go back in history) fast-forward to it. Every ref must
 * still be where relengd last moved it, when the job plans and again when it moves each one
 * (compare-and-swap): a ref moved by anyone else refuses the rollback (`ref-moved`). Summary
 * (signed when configured), static deltas from the rolled-back release and the stream metadata
 * follow, as for a promotion. Release tags of container images move back with the refs, all or
 * none (./release-tags.ts): each from the digest relengd last put there, to the one the earlier
 * version released. For a signed group the rollback is two-step like a promotion
 * (./sign-release.ts): the first run writes the rollback commits and moves nothing until they are
 * signed; the rollback listener then runs it again with that plan, which checks the signatures again.
 */
export function rollbackExecutor(deps: ReleaseExecutorDeps): Executor {
  return {
    kind: 'rollback',
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = RollbackJobSpec.parse(ctx.job.spec);
      const refuse = (reason: RollbackRefusalReason, detail: string): JobOutcome => {
        ctx.logger.warn({ group: spec.group, fromVersion: spec.fromVersion, toVersion: spec.toVersion, reason, detail }, 'rollback refused');
        return { state: 'failed', error: `refused (${reason}): ${detail}`, emit: [rollbackRefused(spec, ctx.job.id, reason, detail)] };
      };

      let plan = readPlan(ctx.workdir);
      // The tags were planned by the listener from the release history: checked (still where relengd put them) before anything is written.
      const tags = releaseTags(ctx, { sign: spec.sign, targets: spec.targets }, spec.images ?? [], 'rolled back');
      if (!plan) {
        const tagRefusal = await tags.plan();
        if (tagRefusal) return refuse(tagRefusal.reason === 'promotion-failed' ? 'rollback-failed' : tagRefusal.reason, tagRefusal.refusal);
        // A rollback resumed once its rollback commits were signed moves the refs as first planned (to those signed commits).
        const planned = spec.plan ? { moves: spec.plan } : await planRollback(spec, deps);
        if ('reason' in planned) return refuse(planned.reason, planned.detail);
        plan = planned.moves;
        writePlan(ctx.workdir, plan);
      }
      const moves = spec.targets.map((target, i) => ({ ...plan[i]!, target, arch: target.arch, repoPath: target.repo, repo: deps.openRepo(target.repo) }));
      // Signed groups: no ref moves until every rollback commit carries a good signature.
      const release = { group: spec.group, version: spec.toVersion, sign: spec.sign, resumed: spec.plan !== undefined, purpose: 'rollback' as const, nothingWas: 'rolled back' };
      const signing = await releaseSignatures(release, moves, ctx.job.id);
      if (signing && 'refusal' in signing) return refuse('unsigned', signing.refusal);
      if (signing) return signing.awaiting;

      const failed = await moveAll(moves, spec.summary, ctx.logger);
      if (failed?.error instanceof RefConflictError) return refuse('ref-moved', `${failed.error.message}; nothing was rolled back`);
      if (failed) return refuse('rollback-failed', `moving ${failed.ref}: ${failed.error.message}; nothing was rolled back`);
      const tagFailed = await tags.move();
      if (tagFailed) {
        await putBack(moves, spec.summary, ctx.logger, String(tagFailed.error));
        return refuse(tagFailed.error instanceof RefConflictError ? 'ref-moved' : 'rollback-failed', `moving ${tagFailed.tag}: ${tagFailed.error.message}; nothing was rolled back`);
      }

      const writeMetadata = (): void => {
        if (!spec.metadata) return;
        const metadata = streamMetadata({ stream: spec.group, version: spec.toVersion, generatedAt: ctx.now().toISOString(), generator: deps.generator, baseUrl: spec.baseUrl, targets: moves.map((m) => ({ ...m.target, to: m.to })), images: tags.released() });
        writeJsonAtomically(spec.metadata, metadata);
      };
      const publishError = await publishMoves(moves, spec, writeMetadata, ctx.logger);
      if (publishError) {
        await tags.putBack();
        return refuse('rollback-failed', `${publishError.message}; the refs were put back`);
      }

      const refs = movedRefs(moves).map((r) => ({ ...r, from: r.from ?? r.to }));
      ctx.logger.info({ group: spec.group, fromVersion: spec.fromVersion, toVersion: spec.toVersion, refs, requestedBy: spec.requestedBy }, 'release rolled back');
      return {
        state: 'succeeded',
        result: { refs },
        emit: [
          {
            topic: 'relengd.release.rolled-back',
            key: 'rolled-back',
            subject: spec.group,
            data: {
              group: spec.group,
              fromVersion: spec.fromVersion,
              toVersion: spec.toVersion,
              refs,
              requestedBy: spec.requestedBy,
              ...(spec.comment !== undefined ? { comment: spec.comment } : {}),
              jobId: ctx.job.id,
              ...(spec.images?.length ? { images: tags.released() } : {}),
            },
          },
        ],
      };
    },
    failureEvents(job, error) {
      const spec = RollbackJobSpec.safeParse(job.spec);
      return spec.success ? [rollbackRefused(spec.data, job.id, 'rollback-failed', error)] : [];
    },
  };
}

/**
 * Checks every ref is where relengd released the version being rolled back and that the earlier
 * release is still in the repository, before anything is written; then writes each arch's rollback
 * commit (no ref moves yet).
 */
async function planRollback(spec: RollbackJobSpec, deps: ReleaseExecutorDeps): Promise<{ moves: PlannedMove[] } | { reason: RollbackRefusalReason; detail: string }> {
  for (const target of spec.targets) {
    const repo = deps.openRepo(target.repo);
    const current = await repo.revParse(target.ref);
    if (current !== target.expected) {
      return {
        reason: 'ref-moved',
        detail: `${target.ref} is at ${current ?? '(no such ref)'}, not at ${target.expected} where relengd released ${spec.fromVersion}: it was moved since; nothing was rolled back`,
      };
    }
    if (!(await repo.hasCommit(target.commit))) {
      return { reason: 'rollback-failed', detail: `the ${spec.toVersion} release commit ${target.commit} of ${target.ref} is no longer in ${target.repo}; nothing was rolled back` };
    }
  }
  const moves: PlannedMove[] = [];
  for (const target of spec.targets) moves.push({ ref: target.ref, from: target.expected, to: await rollbackCommit(deps.openRepo(target.repo), target, spec) });
  return { moves };
}

/**
 * A new commit of the earlier release's tree on top of the current release commit, bound to the
 * release ref. It keeps the earlier release's `version` and the candidate it stood for (so the next
 * promotion's fast-forward check follows the earlier candidate's history).
 */
async function rollbackCommit(repo: OstreeRepo, target: RollbackTarget, spec: RollbackJobSpec): Promise<string> {
  const own = await repo.metadata(target.commit, 'version');
  return repo.commit({
    tree: { commit: target.commit },
    orphan: true,
    parent: target.expected,
    bindRefs: [target.ref],
    subject: `Roll back to ${spec.toVersion}`,
    body: `Rolled back from ${spec.fromVersion} (${target.expected}) to the tree of ${spec.toVersion} (${target.commit}).`,
    metadata: { version: typeof own === 'string' && own !== '' ? own : spec.toVersion, [SOURCE_COMMIT_KEY]: await sourceOf(repo, target.commit), [ROLLED_BACK_FROM_KEY]: spec.fromVersion },
  });
}

/** `release.rollback.refused` with the job's id: the rollback listener ends the rollback in flight on it. */
function rollbackRefused(spec: RollbackJobSpec, jobId: string, reason: RollbackRefusalReason, detail: string): JobEmit {
  return {
    topic: 'relengd.release.rollback.refused',
    key: 'refused',
    subject: spec.group,
    data: { group: spec.group, fromVersion: spec.fromVersion, toVersion: spec.toVersion, reason, detail, requestedBy: spec.requestedBy, jobId },
  };
}
