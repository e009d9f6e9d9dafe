import { createHash } from 'node:crypto';

/**
 * The nibble after the version says which space an id belongs to: `d` for ids relengd derives (its
 * own events, jobs, composes), `b` for ids hashed from an id-less message's bytes. Intake refuses
 * an inbound message whose id is in the derived space, so nobody can occupy an id relengd will
 * derive later and thereby suppress the event it stands for.
 */
const DERIVED_SPACE = 0x0d;
const BYTES_SPACE = 0x0b;

/** Formats the first 16 bytes of a SHA-256 digest as a UUID (version 8, RFC 9562 "custom") in `space`. */
function uuidFromDigest(digest: Buffer, space: number): string {
  const b = Buffer.from(digest.subarray(0, 16));
  b[6] = 0x80 | space;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The id of an event or job decided by `listener` because of the event `causeId`.
 * Re-processing the cause (redelivery, replay) derives the same id, so the inbox and
 * the jobs table drop the repeat.
 */
export function deriveId(causeId: string, listener: string, key: string): string {
  const hash = createHash('sha256');
  // Length-prefixed parts: no choice of inputs can make two different triples hash alike.
  for (const part of [causeId, listener, key]) hash.update(`${Buffer.byteLength(part)}:${part};`);
  return uuidFromDigest(hash.digest(), DERIVED_SPACE);
}

const DERIVED_FORM = /^[0-9a-f]{8}-[0-9a-f]{4}-8d/i;

/** True for an id of the form relengd derives: no inbound message may carry one. */
export function isDerivedId(id: string): boolean {
  return DERIVED_FORM.test(id);
}

/** A stable id for a message that arrived without one: the same bytes give the same id. */
export function idFromBytes(topic: string, bytes: Uint8Array): string {
  return uuidFromDigest(createHash('sha256').update(topic).update('\0').update(bytes).digest(), BYTES_SPACE);
}
