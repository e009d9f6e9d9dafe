import type { ArtifactSummary } from '../../events/relengd/artifact.ts';
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
  /** The version the release refs hold, and their commits, as relengd last moved them (promotion or rollback). */
  current: { version: string; refs: ReleaseRef[] } | null;
  rolledBack: Record<string, RolledBack>;
  /** The rollback job in flight: another waits for its outcome. */
  rollingBack: { jobId: string; toVersion: string } | null;
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
