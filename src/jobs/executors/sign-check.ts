/**
 * The one check that makes a commit count as signed, shared by the signing jobs and the promotion:
 * `ostree` verifies every signature on the commit against the configured keyring only, and one
 * counts when it is good and made by a configured key. A signer's word never enters into it.
 */
import { RelengdError } from '../../errors.ts';
import type { SignSubject } from '../../events/relengd/sign.ts';
import { madeByOneOf, type CommitSignature, type OstreeRepo } from '../../ostree/index.ts';
import { Registry, verifyImageSignatures, type Run } from '../../registry/index.ts';
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

/**
 * The same check for a signing subject of either kind: a commit (above), or a container image's
 * manifest (`subject.image`), whose signatures in the lookaside directory `skopeo
 * standalone-verify` checks against the configured keyring only, for the identity it is released as.
 */
export async function checkSubject(subject: SignSubject, verification: SignVerification, deps: { openRepo: (path: string) => OstreeRepo; run: Run }): Promise<SignatureCheck> {
  if (!subject.image) return checkSignature(deps.openRepo(subject.repo), subject.commit, verification);
  const image = subject.image;
  const registry = new Registry({ repository: image.repository, tlsVerify: image.tlsVerify, authFile: image.authFile, run: deps.run });
  const manifest = await registry.manifestBytes(image.digest);
  if (!manifest) throw new ImageNotFoundError(image.repository, image.digest);
  const checks = await verifyImageSignatures({ manifest, repository: image.repository, digest: image.digest, identity: image.identity, signatures: image.signatures, keyring: verification.keyring, keyIds: verification.keyIds, run: deps.run });
  const found = checks.map(
    (c): CommitSignature => ({ keyId: (c.fingerprint ?? 'unknown key').slice(-16), primaryKeyId: null, status: c.status === 'bad' ? 'bad' : 'good', signer: c.status === 'bad' ? c.detail : null, madeAt: '' }),
  );
  const valid = found.find((s) => s.status === 'good' && madeByOneOf(s, verification.keyIds)) ?? null;
  return { valid, found };
}

/** The registry has no manifest by that digest: there is nothing a signature could be over. */
export class ImageNotFoundError extends RelengdError {
  constructor(repository: string, digest: string) {
    super(`${repository}@${digest} is not in the registry`);
  }
}
