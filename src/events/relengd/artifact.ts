import { z } from 'zod';
import { Checksum, PungiComposeId } from './compose.ts';
import { SafeValue } from './safe-value.ts';

export const ArtifactKind = z.enum(['installer', 'image']);

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
});
export type ArtifactSummary = z.infer<typeof ArtifactSummary>;
