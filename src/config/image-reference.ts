/**
 * Container image references as skopeo and buildah take them (the distribution reference grammar,
 * github.com/distribution/reference): a repository `host[:port]/path`, a tag, a digest. Checked in
 * the configuration and again before any command is built, so a value can never become an option
 * or another image.
 *
 * Stricter than the grammar on purpose: the registry host is always explicit (`fedora/os` would
 * silently mean docker.io), and only sha256 digests are accepted.
 */

/** `sha256:` and 64 lower-case hex digits: a manifest (or index) digest. */
export const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A tag: a word character, then up to 127 of `[A-Za-z0-9_.-]`. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const DOMAIN_COMPONENT = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:]+\\])`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^(${HOST})(?::([0-9]{1,5}))?((?:/${PATH_COMPONENT})+)$`);

/** Longest repository name the registry API accepts. */
const MAX_REPOSITORY_LENGTH = 255;

/** Placeholders of an arch's image tag (`oci.tag`): the version and the arch tell the images of a group apart. */
export const IMAGE_TAG_PLACEHOLDERS = ['version', 'release', 'arch', 'stream', 'name'] as const;
/** Placeholders of the manifest list's tag (`oci.listTag`): one tag for all arches, so no `{arch}`. */
export const IMAGE_LIST_TAG_PLACEHOLDERS = ['version', 'release', 'name'] as const;

/** Why `repository` is not an explicit-registry repository name, or undefined when it is one. */
export function repositoryProblem(repository: string): string | undefined {
  if (repository.length > MAX_REPOSITORY_LENGTH) return `longer than ${MAX_REPOSITORY_LENGTH} characters`;
  const m = REPOSITORY.exec(repository);
  if (!m) return 'expected host[:port]/path with lower-case path components (quay.io/fedora/fedora-bootc), without tag or digest';
  const host = m[1]!;
  if (m[2] === undefined && host !== 'localhost' && !host.includes('.') && !host.startsWith('[')) {
    return `"${host}" is not a registry host (no "." or port): name the registry explicitly, e.g. quay.io/${repository}`;
  }
  return undefined;
}

/** The registry host of a valid repository, without port or brackets (`127.0.0.1`, `::1`, `quay.io`). */
export function registryHost(repository: string): string {
  const m = REPOSITORY.exec(repository);
  if (!m) throw new TypeError(`not a repository: ${repository}`);
  return m[1]!.replace(/^\[(.*)\]$/, '$1');
}

export function isRepository(value: string): boolean {
  return repositoryProblem(value) === undefined;
}

export function isImageTag(value: string): boolean {
  return IMAGE_TAG.test(value);
}

export function isImageDigest(value: string): boolean {
  return IMAGE_DIGEST.test(value);
}

/** `repo@sha256:…`: the image by its content. */
export function digestReference(repository: string, digest: string): string {
  return `${repository}@${digest}`;
}

/** `repo:tag`. */
export function tagReference(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/** The parts of `repo@sha256:…`, or null when `reference` is not one. */
export function parseDigestReference(reference: string): { repository: string; digest: string } | null {
  const at = reference.lastIndexOf('@');
  if (at < 0) return null;
  const repository = reference.slice(0, at);
  const digest = reference.slice(at + 1);
  return isRepository(repository) && isImageDigest(digest) ? { repository, digest } : null;
}
