/**
 * A thin typed wrapper over `buildah manifest`: one manifest list (an OCI image index) over images
 * already in the registry, pushed under a tag. buildah keeps the list in its own storage: a
 * directory of the caller's (the job's), with the vfs driver, so nothing needs a daemon, fuse or
 * the system's container storage.
 */
import { isAbsolute, join } from 'node:path';
import { digestReference, isImageDigest, isImageTag, repositoryProblem, tagReference } from '../config/image-reference.ts';
import { commandFailed, execRun, type Run } from './run.ts';
import { InvalidImageReferenceError } from './skopeo.ts';
import { InvalidImageArgumentError } from './umoci.ts';

export interface IndexPush {
  /** buildah's storage for this list (absolute); created by buildah. */
  storageDir: string;
  /** `host[:port]/path`: where the images are and the list goes. */
  repository: string;
  /** The images the list covers, by digest; buildah reads each one's platform from its config. */
  digests: readonly string[];
  /** The tag the list is pushed under. */
  tag: string;
  /** Where buildah writes the pushed list's digest. */
  digestFile: string;
  tlsVerify?: boolean | undefined;
  authFile?: string | undefined;
}

/** The list's name in buildah's storage (local only). */
const LIST_NAME = 'relengd-index';

/** Creates the list, adds each image, pushes it (`--all`: every image must be in the repository) as an OCI index. */
export async function pushIndex(push: IndexPush, run: Run = execRun()): Promise<void> {
  const problem = repositoryProblem(push.repository);
  if (problem !== undefined) throw new InvalidImageReferenceError('repository', push.repository, problem);
  if (!isImageTag(push.tag)) throw new InvalidImageReferenceError('tag', push.tag, 'expected [A-Za-z0-9_][A-Za-z0-9._-]{0,127}');
  for (const digest of push.digests) if (!isImageDigest(digest)) throw new InvalidImageReferenceError('digest', digest, 'expected sha256:<64 hex digits>');
  if (!isAbsolute(push.storageDir)) throw new InvalidImageArgumentError('storage directory', push.storageDir, 'must be an absolute path');

  const buildah = ['buildah', `--root=${join(push.storageDir, 'root')}`, `--runroot=${join(push.storageDir, 'run')}`, '--storage-driver=vfs'];
  const access = [`--tls-verify=${push.tlsVerify ?? true}`, ...(push.authFile === undefined ? [] : [`--authfile=${push.authFile}`])];
  const env = { STORAGE_DRIVER: 'vfs' };
  const must = async (argv: readonly string[]): Promise<void> => {
    const result = await run(argv, { env });
    if (result.exitCode !== 0 || result.signal !== undefined) throw commandFailed(argv, result);
  };
  await must([...buildah, 'manifest', 'create', LIST_NAME]);
  for (const digest of push.digests) await must([...buildah, 'manifest', 'add', ...access, LIST_NAME, `docker://${digestReference(push.repository, digest)}`]);
  await must([...buildah, 'manifest', 'push', '--all', '--format=oci', ...access, `--digestfile=${push.digestFile}`, LIST_NAME, `docker://${tagReference(push.repository, push.tag)}`]);
}
