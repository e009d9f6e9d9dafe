/**
 * Signed releases: the commits a promotion moves release refs to must carry a good signature by the
 * group's key (`streams[].sign`) before any ref moves. A promotion commit (the candidate's tree
 * bound to the release ref) is new, so nobody has signed it yet: the first run of the promotion
 * writes the commits, plans the moves and stops without moving anything
 * (`relengd.release.awaiting-signature`); the signer listener has them signed by the same protocol as
 * the candidates, and once all are, the promoter runs the promotion again with that plan, which
 * checks the signatures once more and moves every ref (compare-and-swap) or none.
 */
import type { ReleaseAwaitingSignature, SignSubject } from '../../events/relengd/sign.ts';
import type { OstreeRepo } from '../../ostree/index.ts';
import type { JobOutcome } from '../executor.ts';
import type { PromoteJobSpec, PromoteTarget } from '../specs.ts';
import { checkSignature, describeSignatures } from './sign-check.ts';

/** A planned move as the promotion holds it. */
interface ReleaseMove {
  ref: string;
  from: string | null;
  to: string;
  arch: string;
  repoPath: string;
  repo: OstreeRepo;
  target: PromoteTarget;
}

/**
 * Null when the group is not signed or every commit the refs move to is signed. Otherwise, for a
 * first run, the outcome that stops it to await the signatures; for a run resumed with its plan
 * (`spec.plan`: the signatures were verified before), a refusal: a signature went missing since.
 */
export async function releaseSignatures(spec: PromoteJobSpec, moves: readonly ReleaseMove[], jobId: string): Promise<{ awaiting: JobOutcome } | { refusal: string } | null> {
  if (!spec.sign) return null;
  const unsigned: Array<{ move: ReleaseMove; why: string }> = [];
  for (const move of moves) {
    if (move.from === move.to) continue; // nothing moves there
    const check = await checkSignature(move.repo, move.to, spec.sign);
    if (!check.valid) unsigned.push({ move, why: describeSignatures(check, spec.sign) });
  }
  if (unsigned.length === 0) return null;
  if (spec.plan) return { refusal: `${unsigned.map(({ move, why }) => `${move.ref} would move to ${move.to}, but ${why}`).join('; ')}; nothing was promoted` };
  const commits = unsigned.map(({ move }): SignSubject => ({
    commit: move.to,
    repo: move.repoPath,
    ref: move.ref,
    stream: move.target.stream,
    group: spec.group,
    arch: move.arch,
    version: spec.version,
    composeId: move.target.composeId,
    purpose: 'release',
  }));
  const data: ReleaseAwaitingSignature = { group: spec.group, version: spec.version, jobId, plan: moves.map((m) => ({ ref: m.ref, arch: m.arch, from: m.from, to: m.to })), commits };
  return {
    awaiting: {
      state: 'succeeded',
      result: { awaitingSignature: commits.map((c) => ({ ref: c.ref, commit: c.commit })) },
      emit: [{ topic: 'relengd.release.awaiting-signature', key: 'awaiting-signature', subject: spec.group, data }],
    },
  };
}
