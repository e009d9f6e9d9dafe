/**
 * GPG signatures of commits. `ostree gpg-sign` adds one to a commit's detached metadata; `ostree
 * show` checks each against the keyrings it is pointed at and describes it in GnuPG's wording, the
 * only form the 2022.7 CLI offers (there is no `--gpg-verify-only` there). The parser below reads
 * that description strictly (recorded in test/unit/ostree/gpg.test.ts): a commit's own text (its
 * version, subject, body) cannot pass for a signature.
 */
import { OstreeParseError } from './errors.ts';

/** What ostree made of one signature, against the keyrings it was given. */
export type SignatureStatus =
  /** Made by a key of the keyrings, over exactly this commit. */
  | 'good'
  /** A key of the keyrings, but the signature does not match the commit (copied from another, or tampered). */
  | 'bad'
  /** Made by a key none of the keyrings holds. */
  | 'missing-key'
  | 'expired-signature'
  | 'expired-key'
  | 'revoked-key';

export interface CommitSignature {
  /** Long key id (16 upper-case hex digits) of the key that made it: a subkey's own id when a subkey signed. */
  keyId: string;
  /** Long key id of the primary key, when ostree names one apart from `keyId`. */
  primaryKeyId: string | null;
  status: SignatureStatus;
  /** The signer's user id (`Fedora 40 <fedora-40-primary@fedoraproject.org>`) when its key is known. */
  signer: string | null;
  /** When it was made, as ostree prints it. */
  madeAt: string;
}

/** A key id as configured: 16 (long key id) or 40 (fingerprint) hex digits. */
export const GPG_KEY_ID = /^(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/;

/**
 * The signatures section of `ostree show C --gpg-homedir=DIR` output: [] when the commit carries
 * none. ostree prints the section last, at column 0 (`Found 2 signatures:`), each signature a
 * block of lines indented by exactly two spaces; a commit's subject and body are indented by four,
 * and nothing follows the section. Everything after the last such heading must be its blocks.
 * @throws OstreeParseError when the section is not what ostree prints.
 */
export function parseGpgSignatures(showOutput: string): CommitSignature[] {
  const lines = showOutput.replace(/\n+$/, '').split('\n');
  const heading = lines.findLastIndex((line) => /^Found \d+ signatures?:$/.test(line));
  if (heading === -1) return [];
  const expected = Number(/^Found (\d+)/.exec(lines[heading]!)![1]);
  const blocks: string[][] = [];
  for (const line of lines.slice(heading + 1)) {
    if (line === '') {
      blocks.push([]);
      continue;
    }
    const text = /^ {2}(\S.*)$/.exec(line)?.[1];
    if (text === undefined || blocks.length === 0) throw new OstreeParseError('a signature line indented by two spaces after a blank line', line);
    blocks.at(-1)!.push(text);
  }
  const signatures = blocks.filter((b) => b.length > 0).map(parseBlock);
  if (signatures.length !== expected) throw new OstreeParseError(`${expected} signature blocks`, lines.slice(heading).join('\n'));
  return signatures;
}

function parseBlock(block: readonly string[]): CommitSignature {
  const made = /^Signature made (.+) using .+ key ID ([0-9A-Fa-f]{16})$/.exec(block[0] ?? '');
  if (!made) throw new OstreeParseError('"Signature made ... key ID <16 hex digits>"', block.join('\n'));
  let status: SignatureStatus | undefined;
  let signer: string | null = null;
  let primaryKeyId: string | null = null;
  let expiredKey = false;
  let revokedKey = false;
  for (const line of block.slice(1)) {
    const verdict = /^(Good|BAD|Expired) signature from "(.*)"$/.exec(line);
    if (verdict) {
      status = verdict[1] === 'Good' ? 'good' : verdict[1] === 'BAD' ? 'bad' : 'expired-signature';
      signer = verdict[2]!;
    } else if (line === "Can't check signature: public key not found") status = 'missing-key';
    else if (line === 'Key revoked') revokedKey = true;
    else if (/^(?:Primary key|Key) expired /.test(line)) expiredKey = true;
    else if (/^Signature expired /.test(line) && status === 'good') status = 'expired-signature';
    const primary = /^Primary key ID ([0-9A-Fa-f]{16})$/.exec(line);
    if (primary) primaryKeyId = primary[1]!.toUpperCase();
  }
  if (revokedKey) status = 'revoked-key';
  else if (expiredKey && status === 'good') status = 'expired-key';
  if (status === undefined) throw new OstreeParseError('a verdict ("Good signature from", "BAD signature from", ...)', block.join('\n'));
  const keyId = made[2]!.toUpperCase();
  return { keyId, primaryKeyId: primaryKeyId === keyId ? null : primaryKeyId, status, signer, madeAt: made[1]! };
}

/**
 * Whether `signature` was made by one of `keyIds` (fingerprints or long key ids, any case): its own
 * key or its primary key is one of them. Says nothing about whether it is good.
 */
export function madeByOneOf(signature: CommitSignature, keyIds: readonly string[]): boolean {
  const wanted = new Set(keyIds.map((k) => k.toUpperCase().slice(-16)));
  return wanted.has(signature.keyId) || (signature.primaryKeyId !== null && wanted.has(signature.primaryKeyId));
}
