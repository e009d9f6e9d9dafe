import { z } from 'zod';
import type { TopicSpec } from '../catalogue.ts';
import { ImageDigest } from './artifact.ts';
import { SafeValue } from './safe-value.ts';

/**
 * Container-image streams: once every arch of a group has pushed its image (`kind: oci`) for one
 * version, relengd pushes one manifest list (an OCI image index) over them. What testers pull, and
 * what promotion later moves the release tag to, is that list's digest.
 */

const ImageIndexIdentity = {
  group: SafeValue,
  version: SafeValue,
  /** The `oci` artifact's name, as the streams configure it. */
  name: SafeValue,
  /** `host[:port]/path`, without tag or digest. */
  repository: z.string(),
  /** The tag the list was pushed under (`oci.listTag`). */
  tag: z.string(),
  /** Each arch's image, by digest: the list covers exactly these. */
  manifests: z.array(z.looseObject({ arch: z.string(), digest: ImageDigest })).min(1),
};

/** relengd.image.index.finished: the manifest list over the group's arches is in the registry. */
export const ImageIndexFinished = z.looseObject({
  ...ImageIndexIdentity,
  /** The list's digest: pull `repository@digest` to test exactly what would be released. */
  digest: ImageDigest,
});
export type ImageIndexFinished = z.infer<typeof ImageIndexFinished>;

/** relengd.image.index.failed: the list could not be pushed; the job log says why. */
export const ImageIndexFailed = z.looseObject({
  ...ImageIndexIdentity,
  error: z.string(),
  log: z.string().nullable(),
});
export type ImageIndexFailed = z.infer<typeof ImageIndexFailed>;

export const imageTopics = {
  'relengd.image.index.finished': {
    schema: ImageIndexFinished,
    summary: "A group version's manifest list (OCI image index) over every arch's image was pushed: its digest.",
    origin: 'relengd',
  },
  'relengd.image.index.failed': {
    schema: ImageIndexFailed,
    summary: "A group version's manifest list could not be pushed.",
    origin: 'relengd',
  },
} as const satisfies Record<string, TopicSpec>;
