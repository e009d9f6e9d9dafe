import { z } from 'zod';
import { Checksum, PungiComposeId } from './compose.ts';
import { SafeValue } from './safe-value.ts';
import { IMAGE_DIGEST } from '../../config/image-reference.ts';

export const ArtifactKind = z.enum(['installer', 'image', 'oci']);

/**
 * The manifest digest of a pushed container image (`kind: oci`). Such an artifact's `path` is its
 * digest reference (`quay.io/fedora/os@sha256:…`) and its `sha256` is the same digest's hex.
 */
export const ImageDigest = z.string().regex(IMAGE_DIGEST, 'expected sha256:<64 hex digits>');

const ArtifactIdentity = {
  composeId: SafeValue,
  stream: SafeValue,
  commit: Checksum,
  name: SafeValue,
  kind: ArtifactKind,
  platform: z.string(),
  format: z.string(),
  failable: z.boolean(),
  version: SafeValue.nullable().optional(),
  /** Set when the commit is one Pungi made: the artifact belongs to that Pungi compose's join. */
  pungiComposeId: PungiComposeId.optional(),
};

/** relengd.artifact.build.requested: an installer ISO or image is to be built from a commit. */
export const ArtifactRequested = z.looseObject(ArtifactIdentity);
export type ArtifactRequested = z.infer<typeof ArtifactRequested>;

/** relengd.artifact.build.finished: the artifact file, its size and digest. */
export const ArtifactFinished = z.looseObject({
  ...ArtifactIdentity,
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256'),
  size: z.number().int().nonnegative(),
  /** `kind: oci`: the pushed image's manifest digest (also in `path` and `sha256`). */
  digest: ImageDigest.optional(),
  /** `kind: oci`: the tag the image was pushed under, besides its digest. */
  tag: z.string().optional(),
});
export type ArtifactFinished = z.infer<typeof ArtifactFinished>;

/** relengd.artifact.build.failed: a builder failed; failable artifacts do not doom the compose. */
export const ArtifactFailed = z.looseObject({
  ...ArtifactIdentity,
  error: z.string(),
  log: z.string().nullable(),
});
export type ArtifactFailed = z.infer<typeof ArtifactFailed>;

/** One built artifact as listed in compose.finished and release.promoted. */
export const ArtifactSummary = z.looseObject({
  name: z.string(),
  kind: ArtifactKind,
  platform: z.string(),
  format: z.string(),
  path: z.string(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  /** `kind: oci`: the image's manifest digest; `path` is then its digest reference and `sha256` the digest's hex. */
  digest: ImageDigest.optional(),
});
export type ArtifactSummary = z.infer<typeof ArtifactSummary>;

/**
 * The manifest digest of a `kind: oci` artifact, null for other kinds. A summary that kept only the
 * common fields still says it: an image's `sha256` is its manifest digest's hex.
 */
export function imageDigestOf(artifact: { kind: string; sha256: string; digest?: string | undefined }): string | null {
  if (artifact.kind !== 'oci') return null;
  return artifact.digest ?? `sha256:${artifact.sha256}`;
}
