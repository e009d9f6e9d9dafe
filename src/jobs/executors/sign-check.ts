/**
 * The one check that makes a commit count as signed, shared by the signing jobs and the promotion:
 * `ostree` verifies every signature on the commit against the configured keyring only, and one
 * counts when it is good and made by a configured key. A signer's word never enters into it.
 */
import { madeByOneOf, type CommitSignature, type OstreeRepo } from '../../ostree/index.ts';
import type { SignVerification } from './sign-specs.ts';

export interface SignatureCheck {
  /** The signature that counts, or null. */
  valid: CommitSignature | null;
  /** Every signature the commit carries, as ostree judged it. */
  found: CommitSignature[];
}

export async function checkSignature(repo: OstreeRepo, commit: string, verification: SignVerification): Promise<SignatureCheck> {
  const found = await repo.gpgSignatures(commit, verification.keyring);
  const valid = found.find((s) => s.status === 'good' && madeByOneOf(s, verification.keyIds)) ?? null;
  return { valid, found };
}

const STATUS_TEXT: Record<CommitSignature['status'], string> = {
  good: 'good',
  bad: 'BAD (it does not match this commit)',
  'missing-key': 'by a key not in the keyring',
  'expired-signature': 'expired',
  'expired-key': 'by an expired key',
  'revoked-key': 'by a revoked key',
};

/** Why a commit does not count as signed, for events and logs: what signatures it carries and what is wrong with each. */
export function describeSignatures(check: SignatureCheck, verification: SignVerification): string {
  const wanted = verification.keyIds.join(', ');
  if (check.found.length === 0) return `the commit carries no signature (wanted: ${wanted})`;
  const each = check.found.map((s) => {
    const status = s.status === 'good' && !madeByOneOf(s, verification.keyIds) ? 'good, but not by a configured key' : STATUS_TEXT[s.status];
    return `key ${s.keyId}${s.signer ? ` (${s.signer})` : ''}: ${status}`;
  });
  return `no good signature by ${wanted}; the commit carries ${check.found.length === 1 ? 'one signature' : `${check.found.length} signatures`}: ${each.join('; ')}`;
}
