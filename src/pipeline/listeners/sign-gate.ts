/**
 * The "signed" gate, as the promoter reads it: a group whose streams have `sign` is promoted only
 * when every arch's candidate commit is signed (a `relengd.sign.verified` recorded by the signer
 * listener), and its promotion moves refs only to signed commits (the promote job checks again).
 */
import type { SignConfig, StreamConfig } from '../../config/index.ts';
import { imageDigestOf, type ArtifactSummary } from '../../events/relengd/artifact.ts';
import type { PromoteJobSpec } from '../../jobs/specs.ts';
import { imageReleasesOf } from '../images.ts';
import type { StateView } from '../listener.ts';
import { gaveUpPhrase, isImageSigned, isSigned, readImageList, readSignature } from './sign-state.ts';

/** The group's signing: the streams of a group share it (the configuration checks). */
export function groupSigning(streams: readonly StreamConfig[]): SignConfig | undefined {
  return streams.find((s) => s.sign)?.sign;
}

/** What a promotion job of the group checks signatures with; {} when the group is not signed. */
export function signingSpec(streams: readonly StreamConfig[]): Pick<PromoteJobSpec, 'sign'> {
  const sign = groupSigning(streams);
  return sign ? { sign: { keyring: sign.keyring, keyIds: [...sign.keyIds] } } : {};
}

/** The arches whose candidate commit is not signed yet ([] when the group is not signed). */
export function unsignedArches(state: StateView, commits: ReadonlyArray<{ arch: string; commit: string }>, streams: readonly StreamConfig[]): Array<{ arch: string; commit: string }> {
  if (!groupSigning(streams)) return [];
  return commits.filter((c) => !isSigned(state, c.commit));
}

/** Why an unsigned candidate is not released, for a refusal: each arch's commit and where its signing stands. */
export function unsignedDetail(state: StateView, unsigned: ReadonlyArray<{ arch: string; commit: string }>): string {
  return unsigned
    .map(({ arch, commit }) => {
      const record = readSignature(state, commit);
      const where = !record
        ? 'no signature requested yet'
        : record.state === 'timed-out'
          ? `the retry policy gave up: ${gaveUpPhrase(record) ?? 'no reason recorded; a late reply still counts'}`
          : `the signature is pending (request ${record.request?.requestId ?? '-'}, attempt ${record.request?.attempt ?? 1} of ${record.request?.attempts ?? 1})`;
      return `${arch} commit ${commit} is not signed: ${where}`;
    })
    .join('; ');
}

/** For the record of a gated promotion: `signed by <key ids>` ([] when the group is not signed). */
export function signedLabels(state: StateView, commits: readonly string[], streams: readonly StreamConfig[]): string[] {
  if (!groupSigning(streams)) return [];
  const keys = [...new Set(commits.map((c) => readSignature(state, c)?.verified?.keyId).filter((k): k is string => k !== undefined))];
  return [`signed by ${keys.join(', ') || 'a configured key'}`];
}

/**
 * The images a signed group releases (`oci.releaseTag`) whose manifest list over the tested
 * per-arch images, or one of those images, carries no verified signature yet: why each holds the
 * "signed" gate ([] when the group is not signed or releases no image). An image not every arch
 * has is not released, so it holds nothing.
 */
export function unsignedImages(state: StateView, candidate: { group: string; version: string; composes: Record<string, { artifacts: readonly ArtifactSummary[] } | undefined> }, streams: readonly StreamConfig[]): string[] {
  if (!groupSigning(streams)) return [];
  const reasons: string[] = [];
  for (const release of imageReleasesOf(streams, candidate.version).images ?? []) {
    const tested = streams.map((s) => {
      const artifact = candidate.composes[s.arch]?.artifacts.find((a) => a.name === release.name);
      return artifact ? imageDigestOf(artifact) : null;
    });
    if (tested.some((digest) => digest === null)) continue;
    const list = readImageList(state, candidate.group, candidate.version, release.name);
    const covers = list && JSON.stringify(list.manifests.map((m) => m.digest).sort()) === JSON.stringify([...tested].sort());
    if (!list || !covers) {
      reasons.push(`image ${release.name}: no manifest list over the tested images has been pushed yet, so nothing of it is signed`);
      continue;
    }
    const unsigned = [{ arch: 'manifest list', digest: list.digest }, ...list.manifests].filter((m) => !isImageSigned(state, m.digest));
    if (unsigned.length > 0) reasons.push(`image ${release.name}: ${unsigned.map((m) => `the ${m.arch === 'manifest list' ? m.arch : `${m.arch} image`} ${m.digest}`).join(', ')} not signed yet`);
  }
  return reasons;
}
