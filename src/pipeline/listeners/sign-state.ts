/**
 * Where each commit's signing stands: the signer listener's state, read by the promoter (the
 * "signed" gate) and by what shows a candidate's gates. Keyed by commit checksum: a commit is signed
 * once, whichever candidate or release asked first.
 */
import type { SignPurpose, SignSubject } from '../../events/relengd/sign.ts';
import type { StateView } from '../listener.ts';

export const SIGNATURES = 'signature';
/** Request id -> commit: how a signer's reply finds its commit. */
export const SIGN_REQUESTS = 'sign-request';

/** Kept of each kind of outcome: enough to say what happened lately, bounded however long a signature takes. */
const KEPT = 5;

export interface SignatureRecord {
  subject: SignSubject;
  /**
   * `requested`: waiting (or asked again); `timed-out`: the retry policy gave up (the last attempt
   * timed out, or the signer refused it), no more requests, a late reply or signature still counts;
   * `verified`: signed.
   */
  state: 'requested' | 'timed-out' | 'verified';
  /** The purposes asked for (a candidate's commit may be released as it is). */
  purposes: SignPurpose[];
  /** The newest request (id, attempt of how many, how often sent, when first). */
  request: { requestId: string; attempt: number; attempts: number; sent: number; at: string; eventId: string } | null;
  verified: { keyId: string; signer: string | null; by: 'wait' | 'reply' | 'watch'; at: string; eventId: string } | null;
  timeouts: Array<{ requestId: string; attempt: number; attempts: number; reason: string; next: 'retry' | 'wait-for-late-reply'; at: string; eventId: string }>;
  replies: Array<{ requestId: string; status: string; failure: string | null; at: string; eventId: string }>;
  refusals: Array<{ requestId: string; reason: string; detail: string; at: string; eventId: string }>;
  /**
   * Why and when the retry policy gave up (state `timed-out`), and until when a job watches the
   * commit for a signature appearing late (a robosignatory signature comes with no reply). Absent in
   * records written before it existed; cleared when the commit is asked for again.
   */
  gaveUp?: GaveUp | undefined;
}

export interface GaveUp {
  requestId: string;
  attempt: number;
  attempts: number;
  /** `timed-out`: the last attempt's deadline passed; `signer-failed`: the signer replied FAILURE to it. */
  why: 'timed-out' | 'signer-failed';
  detail: string;
  at: string;
  eventId: string;
  /** The watch for a late signature: checked every `everyMinutes`, until `until`. */
  watch: { everyMinutes: number; until: string };
}

/** Where a commit's signing stands, as the signing jobs ask it (null: no record, nothing waits for the signature). */
export function signingStand(state: StateView, commit: string): { state: SignatureRecord['state']; requestId: string | null } | null {
  const record = readSignature(state, commit);
  return record ? { state: record.state, requestId: record.request?.requestId ?? null } : null;
}

/** The retry policy's giving up, in a phrase (status, refusals): null when it has not given up. */
export function gaveUpPhrase(record: SignatureRecord): string | null {
  if (record.state !== 'timed-out') return null;
  const watching = (g: GaveUp) => `; no more requests, a late reply still counts, and the commit is checked for a late signature every ${g.watch.everyMinutes} minutes until ${g.watch.until}`;
  const g = record.gaveUp;
  if (g?.why === 'signer-failed') return `the signer refused at ${g.at} (attempt ${g.attempt} of ${g.attempts}): ${g.detail}${watching(g)}`;
  const timeout = record.timeouts.at(-1);
  if (!timeout) return null;
  return `timed out at ${timeout.at} (attempt ${timeout.attempt} of ${timeout.attempts}): ${timeout.reason}${g ? watching(g) : '; no more requests, a late reply still counts'}`;
}

export function readSignature(state: StateView, commit: string): SignatureRecord | undefined {
  return state.get(SIGNATURES, commit) as SignatureRecord | undefined;
}

export function isSigned(state: StateView, commit: string): boolean {
  return readSignature(state, commit)?.state === 'verified';
}

export function saveSignature(record: SignatureRecord) {
  return { namespace: SIGNATURES, key: record.subject.commit, value: record };
}

/** The newest `KEPT` of a list, with `item` added. */
export function keep<T>(list: readonly T[], item: T): T[] {
  return [...list, item].slice(-KEPT);
}

/** A signed group version's manifest list and its arches' images, by digest: what its "signed" gate waits for. */
export const IMAGE_LISTS = 'image-list';

export interface ImageListRecord {
  digest: string;
  manifests: Array<{ arch: string; digest: string }>;
}

/** The newest list pushed for `group` `version` and image `name` (a rebuilt arch makes a new one). */
export function readImageList(state: StateView, group: string, version: string, name: string): ImageListRecord | undefined {
  return state.get(IMAGE_LISTS, `${group}/${version}/${name}`) as ImageListRecord | undefined;
}

export function saveImageList(group: string, version: string, name: string, record: ImageListRecord) {
  return { namespace: IMAGE_LISTS, key: `${group}/${version}/${name}`, value: record };
}

/** Whether the image digest `sha256:<hex>` carries a verified signature (its record is keyed by the hex). */
export function isImageSigned(state: StateView, digest: string): boolean {
  return isSigned(state, digest.slice('sha256:'.length));
}
