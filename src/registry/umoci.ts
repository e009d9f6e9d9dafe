/**
 * A thin typed wrapper over `umoci`: an OCI image layout holding one image made of one layer (a
 * tar of a file system tree) and a config (architecture, labels). Times are given, never "now",
 * so the same tree, arch and labels make the same image digest.
 */
import { isAbsolute } from 'node:path';
import { RelengdError } from '../errors.ts';
import { commandFailed, execRun, type Run } from './run.ts';

/** The one tag the layout holds: skopeo reads `oci:DIR` as its only image. */
export const LAYOUT_TAG = 'latest';

export interface LayerImage {
  /** The OCI layout to create (absolute; must not exist yet). */
  layoutDir: string;
  /** A tar of the tree, the image's only layer (absolute path). */
  layerTar: string;
  /** OCI architecture (`amd64`, `arm64`, ...). */
  architecture: string;
  /** Image labels (`ostree.commit`, `org.opencontainers.image.version`, ...). */
  labels: Readonly<Record<string, string>>;
  /** RFC 3339 creation time, written into the config and its history. */
  created: string;
  /** What made the layer, for the image's history. */
  createdBy: string;
}

/** An argument that would not be one umoci value (an option-like or multi-line value). */
export class InvalidImageArgumentError extends RelengdError {
  constructor(what: string, value: string, why: string) {
    super(`invalid ${what} ${JSON.stringify(value)}: ${why}`);
  }
}

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const ARCHITECTURE = /^[a-z0-9][a-z0-9_]*$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Builds the image into a new OCI layout: init, new, add the layer, set the config, drop what is unreferenced. */
export async function buildImageFromLayer(image: LayerImage, run: Run = execRun()): Promise<void> {
  check(image);
  const ref = `${image.layoutDir}:${LAYOUT_TAG}`;
  const history = [`--history.created=${image.created}`, `--history.created_by=${image.createdBy}`];
  await must(run, ['umoci', 'init', `--layout=${image.layoutDir}`]);
  await must(run, ['umoci', 'new', `--image=${ref}`]);
  await must(run, ['umoci', 'raw', 'add-layer', `--image=${ref}`, ...history, image.layerTar]);
  const labels = Object.entries(image.labels).map(([key, value]) => `--config.label=${key}=${value}`);
  await must(run, ['umoci', 'config', `--image=${ref}`, '--no-history', `--created=${image.created}`, `--architecture=${image.architecture}`, '--os=linux', ...labels]);
  await must(run, ['umoci', 'gc', `--layout=${image.layoutDir}`]);
}

function check(image: LayerImage): void {
  for (const [what, path] of [['layout directory', image.layoutDir], ['layer tar', image.layerTar]] as const) {
    if (!isAbsolute(path)) throw new InvalidImageArgumentError(what, path, 'must be an absolute path');
    if (/[:\n]/.test(path)) throw new InvalidImageArgumentError(what, path, 'must not contain ":" or a newline');
  }
  if (!ARCHITECTURE.test(image.architecture)) throw new InvalidImageArgumentError('architecture', image.architecture, 'expected an OCI architecture such as amd64');
  if (!RFC3339.test(image.created)) throw new InvalidImageArgumentError('created', image.created, 'expected an RFC 3339 time');
  for (const [key, value] of Object.entries(image.labels)) {
    if (!LABEL_KEY.test(key)) throw new InvalidImageArgumentError('label key', key, 'expected letters, digits and ._/-');
    if (/[\n\0]/.test(value)) throw new InvalidImageArgumentError(`label ${key}`, value, 'must be one line');
  }
  if (/[\n\0]/.test(image.createdBy)) throw new InvalidImageArgumentError('createdBy', image.createdBy, 'must be one line');
}

async function must(run: Run, argv: readonly string[]): Promise<void> {
  const result = await run(argv);
  if (result.exitCode !== 0 || result.signal !== undefined) throw commandFailed(argv, result);
}
