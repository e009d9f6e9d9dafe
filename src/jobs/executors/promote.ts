import { RefConflictError } from '../../errors.ts';
import { CommitNotFoundError, type OstreeRepo } from '../../ostree/index.ts';
import type { Executor, JobContext, JobEmit, JobOutcome } from '../executor.ts';
import { PromoteJobSpec, type PromoteTarget } from '../specs.ts';
import { releaseTags } from './release-tags.ts';
import { releaseSignatures } from './sign-release.ts';
import { moveAll, movedRefs, publishMoves, putBack, readPlan, sourceOf, SOURCE_COMMIT_KEY, writePlan, type PlannedMove, type ReleaseExecutorDeps } from './release-refs.ts';
import { streamMetadata, writeJsonAtomically } from './stream-metadata.ts';

export { SOURCE_COMMIT_KEY } from './release-refs.ts';

export type PromoteExecutorDeps = ReleaseExecutorDeps;

type Refusal = 'not-fast-forward' | 'ref-moved' | 'promotion-failed' | 'unsigned';

/**
 * Moves a group's release refs to a tested version, all arches or none (./release-refs.ts):
 * fast-forward check unless forced, the candidate pulled in from the compose repository it was made
 * in (`promote.from`: Pungi's), a promotion commit bound to the target ref where the candidate
 * is bound to another, compare-and-swap on each ref, summary regenerated (signed when a key is
 * configured), static deltas from the previous release, stream metadata written.
 */
export function promoteExecutor(deps: PromoteExecutorDeps): Executor {
  return {
    kind: 'promote',
    async execute(ctx: JobContext): Promise<JobOutcome> {
      const spec = PromoteJobSpec.parse(ctx.job.spec);
      const refuse = (reason: Refusal, detail: string): JobOutcome => {
        ctx.logger.warn({ group: spec.group, version: spec.version, reason, detail }, 'promotion refused');
        return { state: 'failed', error: `refused (${reason}): ${detail}`, emit: [promotionRefused(spec, ctx.job.id, reason, detail)] };
      };

      let plan = readPlan(ctx.workdir);
      // Container images move with the refs, all or none: their tags are planned first, moved after the refs.
      // Resumed after signing, they move as the first run planned them (from where they stood then), or not at all.
      const tags = releaseTags(ctx, spec, spec.plan ? spec.imagePlan : undefined);
      if (!plan) {
        const tagRefusal = await tags.plan();
        if (tagRefusal) return refuse(tagRefusal.reason, tagRefusal.refusal);
        // A promotion resumed once its release commits were signed moves the refs as first planned (to those signed commits).
        const planned = spec.plan ? { moves: spec.plan } : await planMoves(spec, deps);
        if ('refusal' in planned) return refuse(planned.reason, planned.refusal);
        plan = planned.moves;
        writePlan(ctx.workdir, plan);
      }
      const moves = spec.targets.map((target, i) => ({ ...plan[i]!, target, arch: target.arch, repoPath: target.repo, repo: deps.openRepo(target.repo) }));
      // Signed releases (./sign-release.ts): no ref moves until every commit it moves to carries a good signature.
      const signing = await releaseSignatures({ ...spec, resumed: spec.plan !== undefined, purpose: 'release', nothingWas: 'promoted', ...(spec.images ? { tagPlan: tags.planned() } : {}) }, moves, ctx.job.id);
      if (signing && 'refusal' in signing) return refuse('unsigned', signing.refusal);
      if (signing) return signing.awaiting;

      const failed = await moveAll(moves, spec.summary, ctx.logger);
      if (failed?.error instanceof RefConflictError) return refuse('ref-moved', `${failed.error.message}; nothing was promoted`);
      if (failed) return refuse('promotion-failed', `moving ${failed.ref}: ${failed.error.message}; nothing was promoted`);
      const tagFailed = await tags.move();
      if (tagFailed) {
        await putBack(moves, spec.summary, ctx.logger, String(tagFailed.error));
        return refuse(tagFailed.error instanceof RefConflictError ? 'ref-moved' : 'promotion-failed', `moving ${tagFailed.tag}: ${tagFailed.error.message}; nothing was promoted`);
      }

      const writeMetadata = (): void => {
        if (!spec.metadata) return;
        const metadata = streamMetadata({ stream: spec.group, version: spec.version, generatedAt: ctx.now().toISOString(), generator: deps.generator, baseUrl: spec.baseUrl, targets: moves.map((m) => ({ ...m.target, to: m.to })), images: tags.released() });
        writeJsonAtomically(spec.metadata, metadata);
      };
      const publishError = await publishMoves(moves, spec, writeMetadata, ctx.logger);
      if (publishError) {
        await tags.putBack();
        return refuse('promotion-failed', `${publishError.message}; the refs were rolled back`);
      }

      const refs = movedRefs(moves);
      ctx.logger.info({ group: spec.group, version: spec.version, refs, forced: spec.force, requestedBy: spec.requestedBy }, 'release promoted');
      return {
        state: 'succeeded',
        result: { refs },
        emit: [
          {
            topic: 'relengd.release.promoted',
            key: 'promoted',
            subject: spec.group,
            data: {
              group: spec.group,
              version: spec.version,
              jobId: ctx.job.id,
              forced: spec.force,
              requestedBy: spec.requestedBy,
              ...(spec.gates ? { gates: spec.gates } : {}),
              refs,
              artifacts: spec.targets.flatMap((t) => t.artifacts.map((a) => ({ ...a, arch: t.arch }))),
              ...(spec.images?.length ? { images: tags.released() } : {}),
            },
          },
        ],
      };
    },
    // The detail carries the runner's reason, which says when the refs did move and only the event was refused.
    failureEvents(job, error) {
      const spec = PromoteJobSpec.safeParse(job.spec);
      return spec.success ? [promotionRefused(spec.data, job.id, 'promotion-failed', error)] : [];
    },
  };
}

/**
 * Where each ref is and where it goes. Every fast-forward check runs before any commit is pulled or
 * promotion commit written, so a refusal leaves the repository untouched. A ref already standing
 * for the candidate plans no move (`from === to`). A candidate from another repository
 * (`pullFrom`, Pungi's compose repository) is checked against its history there, then pulled in.
 */
async function planMoves(spec: PromoteJobSpec, deps: PromoteExecutorDeps): Promise<{ moves: PlannedMove[] } | { refusal: string; reason: Refusal }> {
  const found: Array<{ target: PromoteTarget; repo: OstreeRepo; from: string | null; done: boolean }> = [];
  try {
    for (const target of spec.targets) {
      const repo = deps.openRepo(target.repo);
      // The candidate's history is where it was made: a pulled commit arrives without its parents.
      const fromRepo = target.pullFrom === undefined ? undefined : deps.openRepo(target.pullFrom);
      const history = fromRepo && (await fromRepo.hasCommit(target.commit)) ? fromRepo : repo;
      const from = await repo.revParse(target.ref);
      const source = from ? await sourceOf(repo, from) : null;
      const done = source === target.commit;
      if (from && !done && !spec.force && !(await history.isAncestor(source!, target.commit))) {
        return { reason: 'not-fast-forward', refusal: `${target.ref} is at ${from}${source !== from ? ` (from ${source})` : ''}, which ${target.commit} does not descend from; promote with --force to move it anyway` };
      }
      found.push({ target, repo, from, done });
    }
    for (const f of found) {
      if (f.done || f.target.pullFrom === undefined || (await f.repo.hasCommit(f.target.commit))) continue;
      await f.repo.pullLocal(deps.openRepo(f.target.pullFrom), f.target.commit);
    }
  } catch (error) {
    if (!(error instanceof CommitNotFoundError)) throw error;
    return { reason: 'promotion-failed', refusal: `${error.message}; nothing was promoted` };
  }
  const moves: PlannedMove[] = [];
  for (const f of found) moves.push({ ref: f.target.ref, from: f.from, to: f.done ? f.from! : await releaseCommit(f.repo, f.target, f.from, spec.version) });
  return { moves };
}

/** `release.promotion.refused` with the job's id: the promoter takes the candidate out of `promoting` on it. */
function promotionRefused(spec: PromoteJobSpec, jobId: string, reason: Refusal, detail: string): JobEmit {
  return { topic: 'relengd.release.promotion.refused', key: 'refused', subject: spec.group, data: { group: spec.group, version: spec.version, reason, detail, jobId } };
}

/**
 * The commit the release ref will point to: the candidate itself, unless the candidate is bound to
 * other refs (clients checking `ostree.ref-binding` would refuse it there): then a new commit of the
 * same tree, bound to the release ref, whose parent is the previous release. It keeps the
 * candidate's own `version` (Pungi's `27.20170820.n.0` where the candidate is known by its compose id).
 */
async function releaseCommit(repo: OstreeRepo, target: PromoteTarget, from: string | null, candidateVersion: string): Promise<string> {
  const bindings = await repo.refBindings(target.commit);
  if (bindings.length === 0 || bindings.includes(target.ref)) return target.commit;
  const own = await repo.metadata(target.commit, 'version');
  const version = typeof own === 'string' && own !== '' ? own : candidateVersion;
  return repo.commit({
    tree: { commit: target.commit },
    orphan: true,
    parent: from ?? 'none',
    bindRefs: [target.ref],
    subject: `Release ${candidateVersion}`,
    body: `Promoted from ${target.sourceRef} (${target.commit}), compose ${target.composeId}.`,
    metadata: { version, [SOURCE_COMMIT_KEY]: target.commit },
  });
}
