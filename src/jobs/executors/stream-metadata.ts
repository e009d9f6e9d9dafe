import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { digestReference, parseDigestReference, tagReference } from '../../config/image-reference.ts';
import { imageDigestOf } from '../../events/relengd/artifact.ts';
import type { PromoteTarget } from '../specs.ts';

/**
 * The stream metadata download pages and installers read, in Fedora CoreOS's stream-metadata
 * shape (`architectures.<arch>.artifacts.<platform>.formats.<format>.disk`), plus each arch's
 * OSTree ref and commit under `architectures.<arch>.ostree`. Container images (`kind: oci`) are under
 * `architectures.<arch>.images.<platform>` as CoreOS lists its kubevirt image: `{release, image:
 * repo:tag, digest-ref: repo@sha256:…}` (the arch's own image; the tag names the manifest list).
 */
export function streamMetadata(input: {
  stream: string;
  version: string;
  generatedAt: string;
  generator: string;
  baseUrl: string | null;
  targets: ReadonlyArray<Pick<PromoteTarget, 'arch' | 'ref' | 'artifacts'> & { to: string }>;
  /** The release tags promotion moved: an arch's container image is listed under `images` with its tag. */
  images?: ReadonlyArray<{ name: string; repository: string; tag: string }>;
}): Record<string, unknown> {
  const architectures: Record<string, unknown> = {};
  for (const t of input.targets) {
    const artifacts: Record<string, { release: string; formats: Record<string, { disk: { location: string; sha256: string } }> }> = {};
    const images: Record<string, ImageEntry> = {};
    for (const a of t.artifacts) {
      const digest = imageDigestOf(a);
      if (digest !== null) {
        const entry = imageEntry(input.version, a, digest, input.images?.find((i) => i.name === a.name));
        if (entry) images[a.platform] = entry;
        continue;
      }
      const platform = (artifacts[a.platform] ??= { release: input.version, formats: {} });
      platform.formats[a.format] = { disk: { location: locationOf(input.baseUrl, input.version, t.arch, a.path), sha256: a.sha256 } };
    }
    architectures[t.arch] = { artifacts, ...(Object.keys(images).length > 0 ? { images } : {}), ostree: { ref: t.ref, commit: t.to, version: input.version } };
  }
  return { stream: input.stream, metadata: { 'last-modified': input.generatedAt, generator: input.generator }, architectures };
}

/** A container image as CoreOS stream metadata lists one (`images.kubevirt`): the tag to follow, and this arch's image by digest. */
interface ImageEntry {
  release: string;
  image?: string;
  'digest-ref': string;
}

/** The entry of a pushed image (`path` is its digest reference); none when the path is not one. */
function imageEntry(version: string, artifact: { path: string }, digest: string, released: { repository: string; tag: string } | undefined): ImageEntry | null {
  const ref = parseDigestReference(artifact.path);
  if (!ref || ref.digest !== digest) return null;
  return { release: version, ...(released ? { image: tagReference(released.repository, released.tag) } : {}), 'digest-ref': digestReference(ref.repository, digest) };
}

/** Where a synced artifact will be served: `<baseUrl><version>/<arch>/<file>`; the local path when no baseUrl. */
function locationOf(baseUrl: string | null, version: string, arch: string, path: string): string {
  if (!baseUrl) return path;
  return `${baseUrl.replace(/\/?$/, '/')}${version}/${arch}/${basename(path)}`;
}

/** Writes JSON so readers never see half a file (write a sibling, then rename over). */
export function writeJsonAtomically(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}
