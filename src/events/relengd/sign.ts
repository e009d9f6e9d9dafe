import { z } from 'zod';
import type { TopicSpec } from '../catalogue.ts';
import { ImageDigest } from './artifact.ts';
import { Checksum } from './compose.ts';
import { PlannedImageTag } from './release.ts';
import { SafeValue } from './safe-value.ts';

/**
 * Signing as a request and its reply (a saga): relengd asks a signer for a commit's signature,
 * waits, asks again, times out, and counts the signature only once `ostree` verified it against
 * the configured keyring. These are relengd's own facts about it; the requests and replies on the
 * wire are Fedora's topics (src/events/inbound/sign.ts, `pungi.compose.ostree`).
 */

/** What a signature is for: a release candidate's commit (its "signed" gate), a commit a promotion wrote on a release ref, or one a rollback wrote there. */
export const SignPurpose = z.enum(['candidate', 'release', 'rollback']);
export type SignPurpose = z.infer<typeof SignPurpose>;

export const SignProtocol = z.enum(['request-reply', 'robosignatory']);
export type SignProtocol = z.infer<typeof SignProtocol>;

/** The commit to be signed and where it is: carried by every event of its signing. */
export const SignSubject = z.looseObject({
  commit: Checksum,
  /** The repository holding the commit, as configured. */
  repo: z.string(),
  /** The ref it was made for: the stream's ref (a candidate), the release ref (a release commit). */
  ref: z.string(),
  stream: SafeValue,
  group: SafeValue,
  arch: SafeValue,
  /** The candidate's version (a release commit: the version promoted). */
  version: SafeValue,
  /** The compose the commit came from; a release commit: the version. */
  composeId: SafeValue,
  purpose: SignPurpose,
  /**
   * Set when what is signed is a container image's manifest (an arch's image or the group's
   * manifest list) rather than a commit: then `commit` is the hex of its digest (signing records
   * are keyed by it), `repo` the image repository, `ref` the identity the signature claims, and
   * `arch` `multi` for the list.
   */
  image: z
    .looseObject({
      repository: z.string(),
      digest: ImageDigest,
      /** The docker reference the signature binds the manifest to: `repository:releaseTag`. */
      identity: z.string(),
      /** The image's name (the `oci` artifact). */
      name: SafeValue,
      tlsVerify: z.boolean(),
      authFile: z.string().optional(),
      /** The lookaside directory the signature is stored in (`sign.signatures`). */
      signatures: z.string(),
    })
    .optional(),
});
export type SignSubject = z.infer<typeof SignSubject>;

const Time = z.iso.datetime({ offset: true });

/**
 * relengd.sign.requested: a signing request was sent on the wire (its first sending, a resend, or
 * a new attempt after a timeout). A job waits for the signature for each.
 */
export const SignRequested = SignSubject.extend({
  /** The request's id (`request_id` on the wire); the same for every sending of one attempt. */
  requestId: z.string(),
  protocol: SignProtocol,
  /** 1 for the first request; each timeout that is retried starts the next. */
  attempt: z.number().int().positive(),
  /** The attempts the retry policy allows (`sign.retries` + 1). */
  attempts: z.number().int().positive(),
  /** 0 for an attempt's first sending, then 1, 2, ... (`sign.resendMinutes`). */
  resend: z.number().int().nonnegative(),
  /** When the attempt times out; null on its first sending: the wait starts when the waiting job does. */
  deadline: Time.nullable(),
});
export type SignRequested = z.infer<typeof SignRequested>;

/** relengd.sign.verified: the commit carries a good signature by a configured key, as `ostree` checked it against the keyring. */
export const SignVerified = SignSubject.extend({
  /** The request whose wait or reply found it; null when none is known. */
  requestId: z.string().nullable(),
  /** Long key id of the key that made the signature. */
  keyId: z.string(),
  /** Its user id, as the keyring names it. */
  signer: z.string().nullable(),
  /**
   * `wait`: the job waiting for the signature found it; `reply`: the check a signer's reply started
   * did; `watch`: the job watching the commit after the retry policy gave up found it (late).
   */
  by: z.enum(['wait', 'reply', 'watch']),
  /** The reply that started the check. */
  replyId: z.string().optional(),
});
export type SignVerified = z.infer<typeof SignVerified>;

/**
 * relengd.sign.refused: what the signer said does not make the commit signed: it replied FAILURE
 * (`signer-failed`), or it replied SUCCESS but the commit carries no good signature by a configured
 * key (`no-valid-signature`: another key, none, or one that does not match the commit), or the
 * check itself failed (`check-failed`: no keyring, no such commit). A FAILURE to the request in
 * play ends its attempt (`next`); otherwise the wait goes on.
 */
export const SignRefused = SignSubject.extend({
  requestId: z.string(),
  reason: z.enum(['signer-failed', 'no-valid-signature', 'check-failed']),
  detail: z.string(),
  replyId: z.string().nullable(),
  /**
   * For `signer-failed` to the request in play: the attempt ended at once, and the retry policy asks
   * again under a new request id (`retry`) or gives up (`wait-for-late-reply`). Absent when the
   * refusal ended nothing (an older request's, or the attempt already ended).
   */
  next: z.enum(['retry', 'wait-for-late-reply']).optional(),
});
export type SignRefused = z.infer<typeof SignRefused>;

/**
 * relengd.sign.timed-out: an attempt's deadline passed without a good signature. `next` says what
 * the retry policy does: ask again under a new request id, or stop asking (a late reply, or a
 * signature appearing, still counts: a job watches the commit for it at a slow cadence).
 */
export const SignTimedOut = SignSubject.extend({
  requestId: z.string(),
  attempt: z.number().int().positive(),
  attempts: z.number().int().positive(),
  /** When the wait began and when it ended. */
  waitedSince: Time,
  deadline: Time,
  reason: z.string(),
  next: z.enum(['retry', 'wait-for-late-reply']),
});
export type SignTimedOut = z.infer<typeof SignTimedOut>;

/** One planned move of a release ref (`from` null: the ref does not exist yet). */
export const PlannedRefMove = z.looseObject({ ref: z.string(), arch: z.string(), from: Checksum.nullable(), to: Checksum });

/**
 * relengd.release.awaiting-signature: a promotion (or a rollback: its commits' purpose says so) wrote
 * the commits its release refs will point to, and some are not signed yet: no ref moved. Once all
 * are, it moves the refs (and release tags) as planned.
 */
export const ReleaseAwaitingSignature = z.looseObject({
  group: SafeValue,
  version: SafeValue,
  /** The promotion job that planned the moves. */
  jobId: z.string(),
  plan: z.array(PlannedRefMove).min(1),
  /** The planned commits without a good signature yet, to be signed. */
  commits: z.array(SignSubject).min(1),
  /** The release tags planned with the refs: the resumed run moves them from where they stood then, or refuses. */
  images: z.array(PlannedImageTag).optional(),
});
export type ReleaseAwaitingSignature = z.infer<typeof ReleaseAwaitingSignature>;

export const signTopics = {
  'relengd.sign.requested': {
    schema: SignRequested,
    summary: "A commit's signature was requested from the signer (first sending, resend, or a new attempt after a timeout); a job waits for it.",
    origin: 'relengd',
  },
  'relengd.sign.verified': {
    schema: SignVerified,
    summary: 'A commit carries a good signature by a configured key, verified by ostree against the configured keyring.',
    origin: 'relengd',
  },
  'relengd.sign.refused': {
    schema: SignRefused,
    summary: "The signer's reply did not make the commit signed (it failed, or no good signature by a configured key is on the commit).",
    origin: 'relengd',
  },
  'relengd.sign.timed-out': {
    schema: SignTimedOut,
    summary: "A signing request's deadline passed without a signature; says whether relengd asks again.",
    origin: 'relengd',
  },
  'relengd.release.awaiting-signature': {
    schema: ReleaseAwaitingSignature,
    summary: 'A promotion or rollback wrote its release commits and waits for their signatures before it moves any ref.',
    origin: 'relengd',
  },
} as const satisfies Record<string, TopicSpec>;

/** The subject fields of any signing event (without its own fields). */
export function subjectOf(s: SignSubject): SignSubject {
  return { commit: s.commit, repo: s.repo, ref: s.ref, stream: s.stream, group: s.group, arch: s.arch, version: s.version, composeId: s.composeId, purpose: s.purpose, ...(s.image ? { image: s.image } : {}) };
}
