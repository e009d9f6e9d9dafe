/**
 * Container-image streams as the listeners see them: which `oci` artifacts a stream has, and which
 * release tags a promotion of a group version moves. Pure reads of the configuration.
 */
import { expandTemplate, type ArtifactConfig, type OciImageConfig, type StreamConfig } from '../config/index.ts';
import type { ImageRelease } from '../jobs/specs.ts';

export type OciArtifactConfig = ArtifactConfig & { oci: OciImageConfig };

/** The stream's `oci` artifact called `name`, if it has one. */
export function ociArtifact(stream: StreamConfig, name: string): OciArtifactConfig | undefined {
  const artifact = stream.artifacts.find((a) => a.name === name);
  return artifact?.kind === 'oci' && artifact.oci ? (artifact as OciArtifactConfig) : undefined;
}

/** The registry access a group's image job needs (shared by the group's streams: the config checks). */
export function imageAccess(oci: OciImageConfig): { repository: string; tlsVerify: boolean; authFile?: string } {
  return { repository: oci.repository, tlsVerify: oci.tlsVerify, ...(oci.authFile === undefined ? {} : { authFile: oci.authFile }) };
}

/** The group's manifest-list tag for `version`. */
export function listTagOf(stream: StreamConfig, artifact: OciArtifactConfig, version: string): string {
  return expandTemplate(artifact.oci.listTag, { version, release: stream.release, name: artifact.name });
}

/**
 * The images whose release tag a promotion of `version` moves with the refs: every `oci` artifact
 * with a `releaseTag`, as the group's streams share it. `{}` when there is none, so a promotion
 * without images has the spec it always had.
 */
export function imageReleasesOf(streams: readonly StreamConfig[], version: string): { images?: ImageRelease[] } {
  const first = streams[0];
  if (!first) return {};
  const images = first.artifacts.flatMap((a): ImageRelease[] => {
    const artifact = ociArtifact(first, a.name);
    if (!artifact?.oci.releaseTag) return [];
    const signatures = streams.find((s) => s.sign)?.sign?.signatures;
    return [{ name: artifact.name, ...imageAccess(artifact.oci), listTag: listTagOf(first, artifact, version), releaseTag: artifact.oci.releaseTag, ...(signatures === undefined ? {} : { signatures }) }];
  });
  return images.length > 0 ? { images } : {};
}
