import { createHash } from 'node:crypto';

/** Formats the first 16 bytes of a SHA-256 digest as a UUID (version 8, RFC 9562 "custom"). */
function uuidFromDigest(digest: Buffer): string {
  const b = Buffer.from(digest.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x80;
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
  return uuidFromDigest(hash.digest());
}

/** A stable id for a message that arrived without one: the same bytes give the same id. */
export function idFromBytes(topic: string, bytes: Uint8Array): string {
  return uuidFromDigest(createHash('sha256').update(topic).update('\0').update(bytes).digest());
}
