/**
 * A thin typed wrapper over `skopeo` for ONE repository in a registry: read a manifest by tag or
 * digest, read an image's config, copy an image in (from an OCI layout) and copy by digest to a tag.
 * Every reference is checked against the grammar (src/config/image-reference.ts) before a command
 * is built; argv arrays only.
 */
import { z } from 'zod';
import { digestReference, isImageDigest, isImageTag, repositoryProblem, tagReference } from '../config/image-reference.ts';
import { RelengdError } from '../errors.ts';
import { manifestDigest, parseManifest, type Manifest } from './manifest.ts';
import { commandFailed, execRun, type Run } from './run.ts';

export interface RegistryOptions {
  /** `host[:port]/path`. */
  repository: string;
  /** `--tls-verify`; false only for a plain-HTTP registry on loopback (the config checks). @default true */
  tlsVerify?: boolean | undefined;
  /** containers-auth.json for `--authfile`. */
  authFile?: string | undefined;
  run?: Run | undefined;
}

/** A value that would not make a valid image reference: nothing was run. */
export class InvalidImageReferenceError extends RelengdError {
  constructor(what: string, value: string, why: string) {
    super(`invalid ${what} ${JSON.stringify(value)}: ${why}`);
  }
}

/** What an image's config says about it (`skopeo inspect --config`). */
export interface ImageConfig {
  architecture: string;
  os: string;
  labels: Record<string, string>;
}

const ConfigJson = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  config: z.looseObject({ Labels: z.record(z.string(), z.string()).nullable().optional() }).optional(),
});

/** skopeo's words for "the registry has no such tag or digest" (an answer, not a failure). */
const NOT_FOUND = /manifest unknown|name unknown|not found: manifest/i;
/** The registry could not be reached: trying again later can help. */
const UNREACHABLE = /connection refused|no such host|i\/o timeout|TLS handshake timeout|server misbehaving|503 Service Unavailable/i;

export class Registry {
  readonly repository: string;
  readonly #tlsVerify: boolean;
  readonly #authFile: string | undefined;
  readonly #run: Run;

  constructor(options: RegistryOptions) {
    const problem = repositoryProblem(options.repository);
    if (problem !== undefined) throw new InvalidImageReferenceError('repository', options.repository, problem);
    this.repository = options.repository;
    this.#tlsVerify = options.tlsVerify ?? true;
    this.#authFile = options.authFile;
    this.#run = options.run ?? execRun();
  }

  /** `docker://repo:tag` */
  tagged(tag: string): string {
    if (!isImageTag(tag)) throw new InvalidImageReferenceError('tag', tag, 'expected [A-Za-z0-9_][A-Za-z0-9._-]{0,127}');
    return `docker://${tagReference(this.repository, tag)}`;
  }

  /** `docker://repo@sha256:…` */
  byDigest(digest: string): string {
    if (!isImageDigest(digest)) throw new InvalidImageReferenceError('digest', digest, 'expected sha256:<64 hex digits>');
    return `docker://${digestReference(this.repository, digest)}`;
  }

  /**
   * The manifest a tag (or digest) resolves to, read raw so its digest is exactly the registry's;
   * null when the registry has no such tag. For a manifest list this is the list itself, not one arch's image.
   */
  async manifest(at: { tag: string } | { digest: string }): Promise<Manifest | null> {
    const image = 'tag' in at ? this.tagged(at.tag) : this.byDigest(at.digest);
    const argv = ['skopeo', 'inspect', '--raw', this.#tls('tls-verify'), ...this.#auth(), image];
    const result = await this.#run(argv);
    if (result.exitCode === 0) return parseManifest(result.stdout);
    if (NOT_FOUND.test(result.stderr)) return null;
    throw commandFailed(argv, result, UNREACHABLE.test(result.stderr));
  }

  /**
   * The exact bytes of the manifest `digest` names, or null when the registry has none. Checked
   * against the digest: what is signed or verified is the manifest the digest names, whatever the
   * registry says.
   */
  async manifestBytes(digest: string): Promise<Buffer | null> {
    const argv = ['skopeo', 'inspect', '--raw', this.#tls('tls-verify'), ...this.#auth(), this.byDigest(digest)];
    const result = await this.#run(argv);
    if (result.exitCode !== 0) {
      if (NOT_FOUND.test(result.stderr)) return null;
      throw commandFailed(argv, result, UNREACHABLE.test(result.stderr));
    }
    if (manifestDigest(result.stdout) !== digest) throw new InvalidImageReferenceError('manifest', digest, `the registry served a manifest whose digest is ${manifestDigest(result.stdout)}`);
    return result.stdout;
  }

  /** The digest a tag resolves to now, or null when the tag does not exist. */
  async tagDigest(tag: string): Promise<string | null> {
    return (await this.manifest({ tag }))?.digest ?? null;
  }

  /** The config of one arch's image (architecture, OS, labels). */
  async imageConfig(digest: string): Promise<ImageConfig> {
    const argv = ['skopeo', 'inspect', '--config', this.#tls('tls-verify'), ...this.#auth(), this.byDigest(digest)];
    const result = await this.#run(argv);
    if (result.exitCode !== 0) throw commandFailed(argv, result, UNREACHABLE.test(result.stderr));
    const config = ConfigJson.parse(JSON.parse(result.stdout.toString('utf8')));
    return { architecture: config.architecture, os: config.os, labels: config.config?.Labels ?? {} };
  }

  /**
   * Pushes the one image of the OCI layout at `layoutDir` under `tag` (`skopeo copy oci:DIR
   * docker://repo:tag`), keeping its manifest as it is (`--preserve-digests`); skopeo writes the
   * pushed manifest's digest into `digestFile`.
   */
  async pushLayout(layoutDir: string, tag: string, digestFile: string): Promise<void> {
    if (layoutDir.includes(':')) throw new InvalidImageReferenceError('OCI layout path', layoutDir, 'must not contain ":" (skopeo reads it as path:reference)');
    await this.#copy(['--preserve-digests', `--digestfile=${digestFile}`, this.#tls('dest-tls-verify')], `oci:${layoutDir}`, this.tagged(tag));
  }

  /**
   * Points `tag` at the manifest (or manifest list, with every arch's image) `digest` names, without
   * rebuilding or converting anything: `skopeo copy --all --preserve-digests repo@digest repo:tag`.
   */
  async tagDigestAs(digest: string, tag: string): Promise<void> {
    await this.#copy(['--all', '--preserve-digests', this.#tls('src-tls-verify'), this.#tls('dest-tls-verify')], this.byDigest(digest), this.tagged(tag));
  }

  async #copy(options: readonly string[], from: string, to: string): Promise<void> {
    const argv = ['skopeo', 'copy', '--quiet', ...this.#auth(), ...options, from, to];
    const result = await this.#run(argv);
    if (result.exitCode !== 0) throw commandFailed(argv, result, UNREACHABLE.test(result.stderr));
  }

  /** The TLS option named `flag`. */
  #tls(flag: 'tls-verify' | 'src-tls-verify' | 'dest-tls-verify'): string {
    return `--${flag}=${this.#tlsVerify}`;
  }

  /** `--authfile` when credentials are configured (skopeo uses them for source and destination alike). */
  #auth(): string[] {
    return this.#authFile === undefined ? [] : [`--authfile=${this.#authFile}`];
  }
}
