/**
 * Signatures of container images, containers' "simple signing": a GPG signature over a manifest's
 * digest and the docker reference it is released as, stored beside the image in a lookaside
 * directory in containers' layout (`<dir>/<repository path>@sha256=<hex>/signature-N`). Made with
 * `skopeo standalone-sign` (the stand-in signer) and checked with `skopeo standalone-verify`, in a
 * GnuPG home of its own that holds only the configured keyring: a key elsewhere on the machine never
 * makes a signature count.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryHost } from '../config/image-reference.ts';
import { commandFailed, type Run } from './run.ts';

/** The directory holding the signatures of `repository@digest` under the lookaside `signatures`. */
export function signatureDir(signatures: string, repository: string, digest: string): string {
  const path = repository.slice(registryHost(repository).length + 1);
  return join(signatures, ...path.split('/'), `${digest.replace(':', '=')}`);
}

/** The signature files of `repository@digest`, in order (`signature-1`, `signature-2`, ...). */
export function signatureFiles(signatures: string, repository: string, digest: string): string[] {
  const dir = signatureDir(signatures, repository, digest);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^signature-\d+$/.test(f))
    .sort((a, b) => Number(a.slice(10)) - Number(b.slice(10)))
    .map((f) => join(dir, f));
}

/** What `skopeo standalone-verify` made of one signature file. */
export interface ImageSignatureCheck {
  file: string;
  /** `good`: by `fingerprint`, over this manifest and identity; `other-key`: good, by a key not configured; `bad`: anything else. */
  status: 'good' | 'other-key' | 'bad';
  /** The key that made it, when skopeo names it. */
  fingerprint: string | null;
  detail: string;
}

/**
 * Checks every signature of the manifest `manifest` (the exact bytes the digest names) as stored
 * under `signatures`, for `identity`, against the keyrings in `keyring` only; `keyIds`
 * (fingerprints or long key ids) are the keys whose signature counts.
 */
export async function verifyImageSignatures(o: { manifest: Buffer; repository: string; digest: string; identity: string; signatures: string; keyring: string; keyIds: readonly string[]; run: Run }): Promise<ImageSignatureCheck[]> {
  const files = signatureFiles(o.signatures, o.repository, o.digest);
  if (files.length === 0) return [];
  const work = mkdtempSync(join(tmpdir(), 'relengd-image-verify-'));
  try {
    const home = join(work, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    const env = { GNUPGHOME: home };
    const keyrings = existsSync(o.keyring) ? readdirSync(o.keyring).filter((f) => f.endsWith('.gpg')).map((f) => join(o.keyring, f)) : [];
    for (const file of keyrings) {
      const argv = ['gpg', '--batch', '--quiet', '--import', file];
      const imported = await o.run(argv, { env });
      if (imported.exitCode !== 0) throw commandFailed(argv, imported);
    }
    const fingerprints = await fingerprintsOf(o.keyIds, env, o.run);
    const manifestFile = join(work, 'manifest.json');
    writeFileSync(manifestFile, o.manifest);
    const checks: ImageSignatureCheck[] = [];
    for (const file of files) checks.push(await verifyOne(file, manifestFile, o.identity, fingerprints, env, o.run));
    return checks;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The full fingerprints in the imported keyring of the configured keys (standalone-verify wants fingerprints). */
async function fingerprintsOf(keyIds: readonly string[], env: Record<string, string>, run: Run): Promise<string[]> {
  const listed = await run(['gpg', '--batch', '--with-colons', '--list-keys'], { env });
  const all = [...listed.stdout.toString('utf8').matchAll(/^fpr:(?::*)([0-9A-F]{40}):/gm)].map((m) => m[1]!);
  const wanted = keyIds.map((k) => k.toUpperCase());
  return all.filter((fpr) => wanted.some((k) => fpr === k || fpr.endsWith(k)));
}

async function verifyOne(file: string, manifestFile: string, identity: string, fingerprints: readonly string[], env: Record<string, string>, run: Run): Promise<ImageSignatureCheck> {
  // With no configured key in the keyring a signature can only be by another key: ask about a key that cannot match, to learn whose it is.
  let last: ImageSignatureCheck | null = null;
  for (const fingerprint of fingerprints.length > 0 ? fingerprints : ['0'.repeat(40)]) {
    const result = await run(['skopeo', 'standalone-verify', manifestFile, identity, fingerprint, file], { env });
    if (result.exitCode === 0) return { file, status: 'good', fingerprint, detail: 'good' };
    const said = result.stderr.replace(/^.*msg="(.*)"\s*$/ms, '$1').trim();
    const other = /Signature by ([0-9A-F]{40}) does not match expected fingerprint/.exec(said);
    last = other ? { file, status: 'other-key', fingerprint: other[1]!, detail: `good, but by ${other[1]}, not a configured key` } : { file, status: 'bad', fingerprint: null, detail: said || `skopeo exited ${result.exitCode}` };
  }
  return last!;
}

/** Signs the manifest of `repository@digest` for `identity` with `fingerprint` from `gpgHome`, as the next `signature-N` (the stand-in signer). */
export async function signImage(o: { manifest: Buffer; repository: string; digest: string; identity: string; signatures: string; gpgHome: string; fingerprint: string; run: Run }): Promise<string> {
  const dir = signatureDir(o.signatures, o.repository, o.digest);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `signature-${signatureFiles(o.signatures, o.repository, o.digest).length + 1}`);
  const manifestFile = `${file}.manifest.tmp`;
  writeFileSync(manifestFile, o.manifest);
  try {
    const argv = ['skopeo', 'standalone-sign', manifestFile, o.identity, o.fingerprint, '--output', `${file}.tmp`];
    const result = await o.run(argv, { env: { GNUPGHOME: o.gpgHome } });
    if (result.exitCode !== 0) throw commandFailed(argv, result);
    // Appears whole or not at all: a verifier reading the directory meanwhile sees no half signature.
    renameSync(`${file}.tmp`, file);
    return file;
  } finally {
    rmSync(manifestFile, { force: true });
  }
}
