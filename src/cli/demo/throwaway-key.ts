/**
 * A throwaway GnuPG signing key for the demo's stand-in signer (and the tests): made in a home of
 * its own (`gpg --homedir`, no passphrase), its public half exported into a keyring directory,
 * which is what relengd is configured to verify signatures against. Made once per directory: a
 * second demo run on the same directory signs with the same key.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailedError, ToolMissingError } from '../../errors.ts';

export interface SigningKey {
  /** The GnuPG home holding the secret key (what `ostree gpg-sign --gpg-homedir` is given). */
  gpgHome: string;
  /** The directory of public keyrings relengd verifies against (`sign.keyring`). */
  keyring: string;
  /** The key's fingerprint (`sign.keyIds`). */
  fingerprint: string;
}

function gpg(gpgHome: string, args: readonly string[]): Promise<Buffer> {
  const argv = ['gpg', '--homedir', gpgHome, '--batch', ...args];
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      if (error.code === 'ENOENT') return reject(new ToolMissingError(argv));
      reject(new CommandFailedError({ argv, exitCode: typeof error.code === 'number' ? error.code : null, signal: error.signal ?? null, stderr: stderr.toString() }));
    });
  });
}

/** The key under `dir` (`dir/gnupg`, `dir/keyring`): made now, or found from an earlier run. */
export async function throwawayKey(dir: string, uid = 'relengd stand-in signer <signer@relengd.invalid>'): Promise<SigningKey> {
  const gpgHome = join(dir, 'gnupg');
  const keyring = join(dir, 'keyring');
  const fingerprintFile = join(dir, 'fingerprint');
  if (existsSync(fingerprintFile)) return { gpgHome, keyring, fingerprint: readFileSync(fingerprintFile, 'utf8').trim() };
  mkdirSync(gpgHome, { recursive: true });
  chmodSync(gpgHome, 0o700);
  mkdirSync(keyring, { recursive: true });
  await gpg(gpgHome, ['--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const listing = (await gpg(gpgHome, ['--with-colons', '--list-secret-keys'])).toString();
  const fingerprint = /^fpr:(?::*)([0-9A-F]{40}):/m.exec(listing)?.[1];
  if (!fingerprint) throw new CommandFailedError({ argv: ['gpg', '--list-secret-keys'], exitCode: 0, signal: null, stderr: `no fingerprint in: ${listing}` });
  writeFileSync(join(keyring, 'relengd-standin-signer.gpg'), await gpg(gpgHome, ['--export', fingerprint]));
  writeFileSync(fingerprintFile, `${fingerprint}\n`);
  return { gpgHome, keyring, fingerprint };
}

/** Stops the gpg-agent that signing started in `gpgHome` (it would outlive the demo otherwise). */
export async function stopAgent(gpgHome: string): Promise<void> {
  await new Promise<void>((resolve) => execFile('gpgconf', ['--homedir', gpgHome, '--kill', 'gpg-agent'], () => resolve()));
}
