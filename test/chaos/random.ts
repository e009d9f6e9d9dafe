import { createHash } from 'node:crypto';

/** mulberry32: a small, fast, seeded PRNG in [0, 1). The same seed gives the same run plan. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max). */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min));
}

/**
 * A message id like Fedora Messaging's (a UUID, version 4), derived from the seed and the message's
 * number, so a run with the same seed publishes the same ids. Never of the form relengd reserves
 * for its derived ids (version 8).
 */
export function messageId(seed: number, seq: number): string {
  const h = createHash('sha256').update(`relengd-chaos/${seed}/${seq}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
