/**
 * The registry half of a `kind: oci` artifact: the builder (rpm-ostree compose
 * container-encapsulate, or the stand-in) left an OCI image layout; it is pushed under the arch's
 * tag, read back by tag, and reported by digest once the registry's copy is checked to be this
 * arch's image of this commit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestReference, isImageTag } from '../../config/image-reference.ts';
import { expandTemplate } from '../../config/index.ts';
import { CommandFailedError } from '../../errors.ts';
import { imageSize, ociArchitecture, ManifestParseError } from '../../registry/index.ts';
import type { JobContext } from '../executor.ts';
import type { ArtifactJobSpec } from '../specs.ts';
import { registryFor, registryRun } from './registry-access.ts';

/** The label ostree-native container images carry (ostree-rs-ext's encapsulation sets it too). */
export const OSTREE_COMMIT_LABEL = 'ostree.commit';

/** What the pushed image is, as `artifact.build.finished` reports it. */
export interface PushedImage {
  /** `repo@sha256:…`: the artifact's `path`. */
  path: string;
  /** The digest's hex: the artifact's `sha256`. */
  sha256: string;
  digest: string;
  /** Config and layers, in bytes. */
  size: number;
  tag: string;
}

/** Pushes the image the builder left at `layoutDir`; a string when the artifact failed (why). */
export async function pushOciArtifact(ctx: JobContext, spec: ArtifactJobSpec, layoutDir: string, vars: Readonly<Record<string, string>>): Promise<PushedImage | string> {
  if (!spec.oci) return 'an oci artifact without a registry in its job spec (written by an older relengd?)';
  const tag = expandTemplate(spec.oci.tag, vars);
  if (!isImageTag(tag)) return `the image tag ${JSON.stringify(tag)} (from ${spec.oci.tag}) is not a valid tag: letters, digits and _.- only`;
  if (!existsSync(join(layoutDir, 'oci-layout')) || !existsSync(join(layoutDir, 'index.json'))) return `the builder left no OCI image layout at ${layoutDir}`;

  const registry = registryFor(spec.oci, registryRun(ctx));
  const digestFile = join(ctx.workdir, 'pushed.digest');
  try {
    await registry.pushLayout(layoutDir, tag, digestFile);
    const pushed = readFileSync(digestFile, 'utf8').trim();
    // What the registry now serves under the tag is what is reported: read back, never assumed.
    const manifest = await registry.manifest({ tag });
    if (!manifest || manifest.digest !== pushed) return `${registry.tagged(tag)} resolves to ${manifest?.digest ?? 'nothing'} right after pushing ${pushed}: another push raced this one`;
    if (manifest.kind !== 'image') return `${layoutDir} holds a manifest list, not one arch's image`;
    const config = await registry.imageConfig(manifest.digest);
    const architecture = ociArchitecture(spec.arch);
    if (config.architecture !== architecture) return `the image is for ${config.architecture}, not ${architecture} (${spec.arch})`;
    const labelled = config.labels[OSTREE_COMMIT_LABEL];
    if (labelled !== spec.commit) return `the image is not of commit ${spec.commit}: its ${OSTREE_COMMIT_LABEL} label is ${labelled === undefined ? 'missing' : labelled}`;
    ctx.logger.info({ artifact: spec.name, image: digestReference(registry.repository, manifest.digest), tag }, 'image pushed');
    return { path: digestReference(registry.repository, manifest.digest), sha256: manifest.digest.slice('sha256:'.length), digest: manifest.digest, size: imageSize(manifest), tag };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    if (error instanceof CommandFailedError || error instanceof ManifestParseError) return error.message;
    throw error;
  }
}
