/**
 * Signed releases: the commits a promotion moves release refs to must carry a good signature by the
 * group's key (`streams[].sign`) before any ref moves. A promotion commit (the candidate's tree
 * bound to the release ref) is new, so nobody has signed it yet: the first run of the promotion
 * writes the commits, plans the moves and stops without moving anything
 * (`relengd.release.awaiting-signature`); the signer listener has them signed by the same protocol as
 * the candidates, and once all are, the promoter runs the promotion again with that plan, which
 * checks the signatures once more and moves every ref (compare-and-swap) or none. A rollback of a
 * signed group goes the same way with the rollback commits it writes (purpose `rollback`).
 */
import type { PlannedImageTag } from '../../events/relengd/release.ts';
import type { ReleaseAwaitingSignature, SignPurpose, SignSubject } from '../../events/relengd/sign.ts';
import type { OstreeRepo } from '../../ostree/index.ts';
import type { JobOutcome } from '../executor.ts';
import type { SignVerification } from './sign-specs.ts';
import { checkSignature, describeSignatures } from './sign-check.ts';

/** A planned move as the promotion (or rollback) holds it. */
interface ReleaseMove {
  ref: string;
  from: string | null;
  to: string;
  arch: string;
  repoPath: string;
  repo: OstreeRepo;
  /** A rollback's target has no compose: its commits are asked for under the version. */
  target: { stream: string; composeId?: string };
}

/** The release whose commits are checked: a promotion, or a rollback (`purpose: 'rollback'`, `version` the one rolled back to). */
export interface SignedRelease {
  group: string;
  version: string;
  sign?: SignVerification | undefined;
  /** Resumed with the plan of a first run whose commits were signed since: a missing signature refuses. */
  resumed: boolean;
  purpose: Extract<SignPurpose, 'release' | 'rollback'>;
  /** Ends a refusal's detail: `promoted`, `rolled back`. */
  nothingWas: string;
  /** The release tags planned with the refs, carried to the resumed run (which moves exactly those). */
  tagPlan?: readonly PlannedImageTag[] | undefined;
}

/**
 * Null when the group is not signed or every commit the refs move to is signed. Otherwise, for a
 * first run, the outcome that stops it to await the signatures; for a run resumed with its plan
 * (the signatures were verified before), a refusal: a signature went missing since.
 */
export async function releaseSignatures(release: SignedRelease, moves: readonly ReleaseMove[], jobId: string): Promise<{ awaiting: JobOutcome } | { refusal: string } | null> {
  if (!release.sign) return null;
  const unsigned: Array<{ move: ReleaseMove; why: string }> = [];
  for (const move of moves) {
    if (move.from === move.to) continue; // nothing moves there
    const check = await checkSignature(move.repo, move.to, release.sign);
    if (!check.valid) unsigned.push({ move, why: describeSignatures(check, release.sign) });
  }
  if (unsigned.length === 0) return null;
  if (release.resumed) return { refusal: `${unsigned.map(({ move, why }) => `${move.ref} would move to ${move.to}, but ${why}`).join('; ')}; nothing was ${release.nothingWas}` };
  const commits = unsigned.map(({ move }): SignSubject => ({
    commit: move.to,
    repo: move.repoPath,
    ref: move.ref,
    stream: move.target.stream,
    group: release.group,
    arch: move.arch,
    version: release.version,
    composeId: move.target.composeId ?? release.version,
    purpose: release.purpose,
  }));
  const data: ReleaseAwaitingSignature = {
    group: release.group,
    version: release.version,
    jobId,
    plan: moves.map((m) => ({ ref: m.ref, arch: m.arch, from: m.from, to: m.to })),
    commits,
    ...(release.tagPlan ? { images: [...release.tagPlan] } : {}),
  };
  return {
    awaiting: {
      state: 'succeeded',
      result: { awaitingSignature: commits.map((c) => ({ ref: c.ref, commit: c.commit })) },
      emit: [{ topic: 'relengd.release.awaiting-signature', key: 'awaiting-signature', subject: release.group, data }],
    },
  };
}
