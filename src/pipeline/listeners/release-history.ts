import type { ArtifactSummary } from '../../events/relengd/artifact.ts';
import type { ImageTagMove } from '../../events/relengd/release.ts';
import type { ReleaseAwaitingSignature } from '../../events/relengd/sign.ts';
import type { RollbackJobSpec } from '../../jobs/specs.ts';
import type { StatePatch, StateView } from '../listener.ts';

/**
 * A group's releases as relengd moved its release refs: what they hold now, the promotions a
 * rollback may go back to, and the versions rolled back (never promoted again automatically).
 * Kept by the rollback listener from the promotion and rollback results; read by the promoter.
 */
export const RELEASES = 'releases';

/** How many promotions of a group are kept to roll back to. */
export const RELEASES_KEPT = 100;

export interface ReleaseRef {
  arch: string;
  ref: string;
  commit: string;
}

/** One promotion: the release commit of each arch's ref, and the artifacts the stream metadata named. */
export interface ReleaseRecord {
  version: string;
  at: string;
  eventId: string;
  refs: ReleaseRef[];
  artifacts: Array<ArtifactSummary & { arch: string }>;
  /** The release tags the promotion moved, each to the digest (`to`) it released. Absent: none, or recorded before images existed. */
  images?: ImageTagMove[];
}

export interface RolledBack {
  by: string | null;
  at: string;
  eventId: string;
}

export interface ReleaseHistory {
  group: string;
  /** Oldest first, the newest RELEASES_KEPT. */
  promotions: ReleaseRecord[];
  /** The version the release refs hold, and their commits, as relengd last moved them (promotion or rollback); the release tags likewise (`to`: where each stands). */
  current: { version: string; refs: ReleaseRef[]; images?: ImageTagMove[] } | null;
  rolledBack: Record<string, RolledBack>;
  /** The rollback in flight: another waits for its outcome. */
  rollingBack: RollingBack | null;
}

/** A rollback in flight: its job, and for a signed group its spec and the rollback commits it waits on. */
export interface RollingBack {
  jobId: string;
  toVersion: string;
  /** What the job was given: resumed with its plan once the rollback commits are signed. Absent in state written before signed rollbacks. */
  spec?: RollbackJobSpec;
  /** The job wrote its rollback commits and waits for their signatures (`relengd.release.awaiting-signature`): no ref moved yet. */
  signing?: { jobId: string; plan: ReleaseAwaitingSignature['plan']; commits: string[] };
}

/** Where the release tags stand after `moved` (a promotion's or rollback's tags) on top of `before`: by repository and tag. */
export function tagsAfter(before: readonly ImageTagMove[] | undefined, moved: readonly ImageTagMove[] | undefined): ImageTagMove[] | undefined {
  if (!before && !moved) return undefined;
  const key = (i: ImageTagMove): string => `${i.repository}:${i.tag}`;
  const byTag = new Map((before ?? []).map((i) => [key(i), i]));
  for (const i of moved ?? []) byTag.set(key(i), i);
  return [...byTag.values()];
}

export function loadHistory(state: StateView, group: string): ReleaseHistory {
  return (state.get(RELEASES, group) as ReleaseHistory | undefined) ?? { group, promotions: [], current: null, rolledBack: {}, rollingBack: null };
}

export function saveHistory(history: ReleaseHistory): StatePatch {
  return { namespace: RELEASES, key: history.group, value: history };
}

/** Who rolled `version` of `group` back and when, or undefined when it was not (or was released again since). */
export function rolledBackRelease(state: StateView, group: string, version: string): RolledBack | undefined {
  const rolledBack = loadHistory(state, group).rolledBack;
  return Object.hasOwn(rolledBack, version) ? rolledBack[version] : undefined;
}
