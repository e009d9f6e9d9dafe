import { z } from 'zod';
import { ArtifactRequested, ArtifactSummary, ImageDigest } from '../events/relengd/artifact.ts';
import { Cause, Checksum } from '../events/relengd/compose.ts';
import { PlannedImageTag } from '../events/relengd/release.ts';
import { SafeValue } from '../events/relengd/safe-value.ts';
import { SignVerification } from './executors/sign-specs.ts';

/**
 * What each job kind is given. Listeners write these into the job row when they decide; the
 * executor parses them back (the edge between the store and the effects), so a row written by an
 * older relengd fails clearly instead of half-running.
 */

// Values that reach argv are checked again here, where the executor reads its spec: a row written
// before the schemas were strict (or by hand) fails clearly instead of building a command.
export const ComposeJobSpec = z.object({
  composeId: SafeValue,
  stream: SafeValue,
  group: SafeValue,
  arch: SafeValue,
  release: SafeValue,
  repo: z.string(),
  ref: z.string(),
  treefile: z.string(),
  version: SafeValue,
  /** The stream's compose argv template. */
  argv: z.array(z.string()).min(1),
  causes: z.array(Cause),
});
export type ComposeJobSpec = z.infer<typeof ComposeJobSpec>;

/** The build request plus what the builder needs, fixed when the build was decided. */
export const ArtifactJobSpec = ArtifactRequested.extend({
  arch: SafeValue,
  group: SafeValue,
  release: SafeValue,
  repo: z.string(),
  ref: z.string(),
  /** Template of the artifact's path, under {outputDir}; `*` may stand in the file name. */
  output: z.string(),
  command: z.array(z.string()).min(1),
  /** `kind: oci`: where the built image is pushed (`tag` still a template, expanded like `output`). */
  oci: z.object({ repository: z.string(), tag: z.string(), tlsVerify: z.boolean(), authFile: z.string().optional() }).optional(),
});
export type ArtifactJobSpec = z.infer<typeof ArtifactJobSpec>;

/** Registry access of a group's image: the repository, TLS verification and credentials its streams share. */
const ImageRepositorySpec = {
  repository: z.string(),
  tlsVerify: z.boolean(),
  authFile: z.string().optional(),
};

/** One manifest list over every arch's image of a group version, pushed under `tag`. */
export const ImageIndexJobSpec = z.object({
  group: SafeValue,
  version: SafeValue,
  name: SafeValue,
  ...ImageRepositorySpec,
  tag: z.string(),
  images: z.array(z.object({ arch: SafeValue, stream: SafeValue, digest: ImageDigest })).min(1),
});
export type ImageIndexJobSpec = z.infer<typeof ImageIndexJobSpec>;

/** A group image whose `releaseTag` a promotion moves to the manifest list at `listTag` (checked to cover the tested per-arch images). */
export const ImageRelease = z.object({
  name: SafeValue,
  ...ImageRepositorySpec,
  listTag: z.string(),
  releaseTag: z.string(),
  /** The lookaside directory of its signatures (`sign.signatures`) when the group is signed: the list and every arch's image must carry a good signature before the tag moves. */
  signatures: z.string().optional(),
});
export type ImageRelease = z.infer<typeof ImageRelease>;

export const PromoteTarget = z.object({
  arch: z.string(),
  stream: z.string(),
  repo: z.string(),
  sourceRef: z.string(),
  ref: z.string(),
  commit: z.string(),
  composeId: z.string(),
  artifacts: z.array(ArtifactSummary),
  /** The repository the commit is pulled from into `repo` before the ref moves (`promote.from.repo`); absent: it is in `repo` already. */
  pullFrom: z.string().optional(),
});
export type PromoteTarget = z.infer<typeof PromoteTarget>;

/** What follows a move of a group's release refs: the summary (signed with `gpgKey`), static deltas, the stream metadata at `metadata`. */
const Publication = {
  summary: z.object({ gpgKey: z.string().nullable(), gpgHome: z.string().optional() }),
  deltas: z.boolean(),
  metadata: z.string().nullable(),
  baseUrl: z.string().nullable(),
};

export const PromoteJobSpec = z.object({
  group: SafeValue,
  version: SafeValue,
  force: z.boolean(),
  requestedBy: z.string().nullable(),
  /** The gates that held (a gated promotion), for the record; absent in rows written before it existed. */
  gates: z.array(z.string()).optional(),
  targets: z.array(PromoteTarget).min(1),
  /** The group's signing (`streams[].sign`): a ref moves only to a commit with a good signature by `keyIds`, checked against `keyring`. Absent: not signed. */
  sign: SignVerification.optional(),
  /** The moves (per target, in order) a first run planned, whose new commits are signed since: this run makes exactly those. Absent: plan afresh. */
  plan: z.array(z.object({ ref: z.string(), from: Checksum.nullable(), to: Checksum })).optional(),
  /** Container images whose release tag moves with the refs (all or none); absent in rows written before images existed. */
  images: z.array(ImageRelease).optional(),
  /** With `plan`: the release tags as the first run planned them (where each stood then): this run moves exactly those, from there, or refuses. */
  imagePlan: z.array(PlannedImageTag).optional(),
  ...Publication,
});
export type PromoteJobSpec = z.infer<typeof PromoteJobSpec>;

/** One arch of a rollback: its release ref goes from `expected` (where relengd last moved it) to a new commit holding `commit`'s tree. */
export const RollbackTarget = z.object({
  arch: z.string(),
  stream: z.string(),
  repo: z.string(),
  ref: z.string(),
  /** The release commit of the version rolled back, as relengd recorded it: compare-and-swap against it. */
  expected: Checksum,
  /** The release commit of the version rolled back to: its tree is what the new commit holds. */
  commit: Checksum,
  /** The target version's artifacts, for the stream metadata. */
  artifacts: z.array(ArtifactSummary),
});
export type RollbackTarget = z.infer<typeof RollbackTarget>;

export const RollbackJobSpec = z.object({
  group: SafeValue,
  fromVersion: SafeValue,
  toVersion: SafeValue,
  requestedBy: z.string().nullable(),
  comment: z.string().optional(),
  targets: z.array(RollbackTarget).min(1),
  /** The group's signing: no ref moves until every rollback commit carries a good signature by `keyIds`. Absent: not signed. */
  sign: SignVerification.optional(),
  /** The moves (per target, in order) a first run planned, whose rollback commits are signed since: this run makes exactly those. Absent: plan afresh. */
  plan: z.array(z.object({ ref: z.string(), from: Checksum.nullable(), to: Checksum })).optional(),
  /** Release tags moved back with the refs: from the digest relengd last put there to the one the earlier version released. */
  images: z.array(PlannedImageTag).optional(),
  ...Publication,
});
export type RollbackJobSpec = z.infer<typeof RollbackJobSpec>;

/** A commit Pungi announced, to be found in the compose repository before it counts as the stream's compose. */
export const PungiCommitJobSpec = z.object({
  /** The arch's compose (derived from Pungi's compose id and the stream). */
  composeId: SafeValue,
  pungiComposeId: SafeValue,
  stream: SafeValue,
  /** The stream's ref, which the commit must be bound to or on (the message named it). */
  ref: z.string(),
  /** The compose repository (`triggers.pungi.repo`). */
  repo: z.string(),
  commit: Checksum,
  /** The version the compose is known by: Pungi's compose id. */
  version: SafeValue,
  causes: z.array(Cause),
});
export type PungiCommitJobSpec = z.infer<typeof PungiCommitJobSpec>;
