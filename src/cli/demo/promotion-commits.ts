import type { Envelope } from '../../events/envelope.ts';
import type { ReleasePromoted } from '../../events/relengd/release.ts';
import { PromoteJobSpec } from '../../jobs/specs.ts';
import type { StoreApi } from '../../store/api.ts';
import { promotionCommitLine } from './timeline.ts';

/**
 * For a `relengd.release.promoted`, one line per release ref on why its commit is not the composed
 * one; the composed commits are those the promotion job was given. None when the job is unknown.
 */
export async function promotionCommitLines(store: StoreApi, promoted: Envelope): Promise<string[]> {
  const data = promoted.data as ReleasePromoted;
  const job = data.jobId ? await store.jobs.get(data.jobId) : undefined;
  const spec = PromoteJobSpec.safeParse(job?.spec);
  if (!spec.success) return [];
  return data.refs.flatMap((move) => {
    const target = spec.data.targets.find((t) => t.ref === move.ref);
    return target ? [promotionCommitLine(move, { commit: target.commit, ref: target.sourceRef })] : [];
  });
}
