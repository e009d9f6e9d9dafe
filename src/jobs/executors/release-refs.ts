/**
 * Moving a group's release refs, all arches or none: the mechanics promotion and rollback share.
 * The plan (each ref's from and to) is kept in the job directory before the first move, so a re-run
 * after a crash finishes or undoes the same moves; each move is a compare-and-swap; a failure after
 * any ref moved, in this attempt or an earlier one, puts every moved ref back where the plan found it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.ts';
import type { OstreeRepo } from '../../ostree/index.ts';

/** Commit metadata a release commit carries when it re-commits another commit's tree: the candidate it stands for, so the next fast-forward check can follow it. */
export const SOURCE_COMMIT_KEY = 'relengd.source-commit';

/** What the executors that move release refs are given. */
export interface ReleaseExecutorDeps {
  openRepo: (path: string) => OstreeRepo;
  /** `relengd <version>`, written into the stream metadata. */
  generator: string;
}

/** Where one release ref goes (`from` null: the ref does not exist yet; `from === to`: no move). */
export interface PlannedMove {
  ref: string;
  from: string | null;
  to: string;
}

/** A planned move and the repository (by configured path) it happens in. */
export interface RefMove extends PlannedMove {
  repoPath: string;
  repo: OstreeRepo;
}

export interface SummarySigning {
  gpgKey: string | null;
  gpgHome?: string | undefined;
}

const planFile = (workdir: string): string => join(workdir, 'plan.json');

/** The plan an earlier attempt of the job wrote, or null. */
export function readPlan(workdir: string): PlannedMove[] | null {
  const file = planFile(workdir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PlannedMove[]) : null;
}

export function writePlan(workdir: string, plan: readonly PlannedMove[]): void {
  writeFileSync(planFile(workdir), JSON.stringify(plan));
}

/**
 * Moves each ref with compare-and-swap on where the plan found it; a ref already at its target
 * (moved by an earlier attempt), or at another release commit of the same candidate bound to the ref
 * (moved by an attempt running at the same time), is left, and the move reports where it is. On any failure every moved ref is put back, and the ref and
 * error returned: `RefConflictError` when the ref was not where the plan found it.
 */
export async function moveAll(moves: readonly RefMove[], summary: SummarySigning, logger: Logger): Promise<{ ref: string; error: Error } | null> {
  for (const m of moves) {
    if (m.from === m.to) continue;
    const head = await m.repo.revParse(m.ref);
    if (head === m.to) continue;
    if (head !== null && head !== m.from && (await isReleaseOfSameCandidate(m, head))) {
      // Another attempt of this job (one whose lease lapsed while it still ran, on another replica)
      // moved the ref to its own release commit of the same candidate: that move is this one. Moving
      // on top of it would release the candidate twice; refusing would leave its move unannounced.
      logger.warn({ ref: m.ref, planned: m.to, found: head }, 'the ref already stands for this candidate (another attempt of the job moved it); taking that move as this one');
      m.to = head;
      continue;
    }
    try {
      await m.repo.compareAndSetRef(m.ref, m.from, m.to);
    } catch (error) {
      await putBack(moves, summary, logger, String(error));
      return { ref: m.ref, error: error as Error };
    }
  }
  return null;
}

/** Whether `head` is a release commit made for `m.ref` (bound to it) from the candidate `m.to` stands for: what another attempt of the same move writes. */
async function isReleaseOfSameCandidate(m: RefMove, head: string): Promise<boolean> {
  const source = await m.repo.metadata(head, SOURCE_COMMIT_KEY);
  return source === (await sourceOf(m.repo, m.to)) && (await m.repo.refBindings(head)).includes(m.ref);
}

/**
 * After the refs moved: the summary (signed when configured), static deltas from each ref's previous
 * commit when `deltas`, then `writeMetadata`. On failure the refs are put back and the error returned.
 */
export async function publishMoves(moves: readonly RefMove[], options: { summary: SummarySigning; deltas: boolean }, writeMetadata: () => void, logger: Logger): Promise<Error | null> {
  try {
    await updateSummaries(moves, options.summary);
    if (options.deltas) {
      for (const m of moves) if (m.from && m.from !== m.to) await m.repo.generateStaticDelta(m.from, m.to);
    }
    writeMetadata();
    return null;
  } catch (error) {
    await putBack(moves, options.summary, logger, String(error));
    return error as Error;
  }
}

/** Each ref as the job's result event reports it: `from` null when the ref did not move. */
export function movedRefs(moves: readonly (RefMove & { arch: string })[]): Array<{ ref: string; arch: string; from: string | null; to: string }> {
  return moves.map((m) => ({ ref: m.ref, arch: m.arch, from: m.from === m.to ? null : m.from, to: m.to }));
}

/**
 * Puts every ref that moved back where the plan found it (deleting one that did not exist), newest
 * move first. Exported for what must move with the refs (release tags): their failure undoes the refs.
 */
export async function putBack(moves: readonly RefMove[], summary: SummarySigning, logger: Logger, why: string): Promise<void> {
  const undone: string[] = [];
  for (const m of [...moves].reverse()) {
    if (m.from === m.to || (await m.repo.revParse(m.ref)) !== m.to) continue;
    try {
      if (m.from) await m.repo.setRef(m.ref, m.from);
      else await m.repo.deleteRef(m.ref);
      undone.push(m.ref);
    } catch (error) {
      logger.error({ err: error, ref: m.ref, to: m.from }, 'PUTTING BACK FAILED: ref left moved; fix by hand');
    }
  }
  await updateSummaries(moves, summary).catch((error: unknown) =>
    logger.error({ err: error }, 'summary not regenerated after putting the refs back: it may still list the moved refs; run ostree summary -u'),
  );
  logger.warn({ why, putBack: undone }, 'ref moves undone');
}

/** Regenerates the summary of each repository the moves touched, once. */
async function updateSummaries(moves: readonly RefMove[], summary: SummarySigning): Promise<void> {
  const seen = new Set<string>();
  for (const m of moves) {
    if (seen.has(m.repoPath)) continue;
    seen.add(m.repoPath);
    await m.repo.updateSummary({ gpgKey: summary.gpgKey, ...(summary.gpgHome ? { gpgHome: summary.gpgHome } : {}) });
  }
}

/** The candidate a release commit stands for: itself, or the commit a promotion (or rollback) commit re-committed. */
export async function sourceOf(repo: OstreeRepo, commit: string): Promise<string> {
  const source = await repo.metadata(commit, SOURCE_COMMIT_KEY);
  return typeof source === 'string' && /^[0-9a-f]{64}$/.test(source) ? source : commit;
}
