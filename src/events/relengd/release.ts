import { z } from 'zod';
import { ArtifactSummary, ImageDigest } from './artifact.ts';
import { Checksum } from './compose.ts';
import { SafeValue } from './safe-value.ts';

/** Pungi's compose statuses, as Fedora's tools read them. */
export const ComposeStatus = z.enum(['FINISHED', 'FINISHED_INCOMPLETE', 'DOOMED']);
export type ComposeStatus = z.infer<typeof ComposeStatus>;

/**
 * relengd.compose.finished: a compose and all its artifacts are done; other systems test and gate
 * on this. `commit` is null only for a DOOMED compose whose tree never got committed.
 */
export const ComposeFinished = z.looseObject({
  composeId: SafeValue,
  stream: SafeValue,
  group: SafeValue,
  arch: SafeValue,
  ref: z.string(),
  commit: Checksum.nullable(),
  version: SafeValue.nullable(),
  status: ComposeStatus,
  artifacts: z.array(ArtifactSummary),
});
export type ComposeFinished = z.infer<typeof ComposeFinished>;

export const RefusalReason = z.enum([
  'gate-failed',
  'not-fast-forward',
  'arch-missing',
  'version-mismatch',
  'ref-moved',
  'status-not-accepted',
  'promotion-failed',
  /** The version was rolled back: promoted again only by an operator's forced request. */
  'rolled-back',
  /** A commit to be released has no good signature by the group's key (`streams[].sign`). */
  'unsigned',
]);

/** relengd.release.promotion.refused: a candidate will not be promoted, and why. */
export const PromotionRefused = z.looseObject({
  group: z.string(),
  version: z.string(),
  reason: RefusalReason,
  detail: z.string(),
  /** Set when a promotion job refused (its checks run against the repository). */
  jobId: z.string().optional(),
});
export type PromotionRefused = z.infer<typeof PromotionRefused>;

/** One release tag as a promotion or rollback moved it, by digest (`from` null: created, or it did not move). */
export const ImageTagMove = z.looseObject({ name: z.string(), repository: z.string(), tag: z.string(), from: ImageDigest.nullable(), to: ImageDigest });
export type ImageTagMove = z.infer<typeof ImageTagMove>;

/**
 * One release tag's planned move, with the registry access it needs: what a promotion planned
 * before it waited for signatures (resumed, it moves exactly that), what a rollback moves back.
 */
export const PlannedImageTag = z.looseObject({
  name: SafeValue,
  repository: z.string(),
  tlsVerify: z.boolean(),
  authFile: z.string().optional(),
  listTag: z.string(),
  /** The lookaside directory of the image's signatures, for a signed group. */
  signatures: z.string().optional(),
  tag: z.string(),
  /** Where the tag stood when planned (null: it did not exist): it moves only from there (compare-and-swap). */
  from: ImageDigest.nullable(),
  to: ImageDigest,
});
export type PlannedImageTag = z.infer<typeof PlannedImageTag>;

/** relengd.release.promoted: the group's release refs moved, all arches at once. */
export const ReleasePromoted = z.looseObject({
  group: z.string(),
  version: z.string(),
  jobId: z.string().optional(),
  forced: z.boolean().optional(),
  /** Who asked, for a manual promotion (the command's authenticated publisher); null when the gates promoted it. */
  requestedBy: z.string().nullable().optional(),
  /** The gates that held, for a gated promotion (`greenwave atomic_two_week`, `approval by releng`). */
  gates: z.array(z.string()).optional(),
  refs: z.array(z.looseObject({ ref: z.string(), arch: z.string(), from: Checksum.nullable(), to: Checksum })).min(1),
  artifacts: z.array(ArtifactSummary.extend({ arch: z.string() })),
  /** Container images: each release tag moved to its tested manifest list, by digest, with the refs. Absent: none configured. */
  images: z.array(ImageTagMove).optional(),
});
export type ReleasePromoted = z.infer<typeof ReleasePromoted>;

/** relengd.release.promote.requested: a release engineer asks to promote a version now (gates skipped; audited). */
export const PromoteRequested = z.looseObject({
  group: SafeValue,
  version: SafeValue,
  /** Absent means false (no schema default: a stored body must equal what was received). */
  force: z.boolean().optional(),
  /**
   * Ignored: who asked is the identity the transport authenticated (the event's publisher), never
   * a field of the body. Accepted so that requests from older clients still validate.
   */
  requestedBy: z.string().optional(),
  comment: z.string().max(4096).optional(),
});
export type PromoteRequested = z.infer<typeof PromoteRequested>;

/** relengd.release.approve: a person or tool approves a version of a group for release. */
export const ReleaseApprove = z.looseObject({
  group: SafeValue,
  version: SafeValue,
  comment: z.string().max(4096).optional(),
});
export type ReleaseApprove = z.infer<typeof ReleaseApprove>;
