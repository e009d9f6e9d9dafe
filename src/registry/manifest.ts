/**
 * Reading manifests as the registry serves them: an image manifest (one arch) or an index / Docker
 * manifest list (several). Pure: bytes in, typed data out; the digest is the SHA-256 of the bytes.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RelengdError } from '../errors.ts';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);

const Descriptor = z.looseObject({
  mediaType: z.string().optional(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  platform: z.looseObject({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).optional(),
});
export type Descriptor = z.infer<typeof Descriptor>;

const RawManifest = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(Descriptor).optional(),
  config: Descriptor.optional(),
  layers: z.array(Descriptor).optional(),
});

/** One arch's image: its config and layers. */
export interface ImageManifest {
  kind: 'image';
  digest: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** A manifest list / OCI image index: one entry per arch's image. */
export interface IndexManifest {
  kind: 'index';
  digest: string;
  mediaType: string;
  manifests: Descriptor[];
}

export type Manifest = ImageManifest | IndexManifest;

/** A manifest relengd cannot read (schema 1, not JSON, neither an image nor an index). */
export class ManifestParseError extends RelengdError {
  constructor(what: string) {
    super(`unreadable manifest: ${what}`);
  }
}

/** `sha256:<hex>` of exactly these bytes: what a registry names the manifest by. */
export function manifestDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function parseManifest(bytes: Uint8Array): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ManifestParseError('not JSON');
  }
  const parsed = RawManifest.safeParse(json);
  if (!parsed.success) throw new ManifestParseError(`not a schema 2 manifest (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  const m = parsed.data;
  const digest = manifestDigest(bytes);
  if (m.manifests !== undefined && (m.mediaType === undefined || INDEX_TYPES.has(m.mediaType))) {
    return { kind: 'index', digest, mediaType: m.mediaType ?? MEDIA_TYPES.ociIndex, manifests: m.manifests };
  }
  if (m.config !== undefined && m.layers !== undefined) return { kind: 'image', digest, config: m.config, layers: m.layers };
  throw new ManifestParseError(`neither an image nor an index (mediaType ${m.mediaType ?? 'absent'})`);
}

/** Bytes an image takes in the registry: its config and its (compressed) layers. */
export function imageSize(manifest: ImageManifest): number {
  return manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
}
