import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/**
 * Every id relengd makes up, one named function per kind. Each is a hash of what identifies the
 * thing, so processing the same input again (redelivery, replay, a producer retrying, the same
 * message read from an archive) gives the same id and the inbox or the jobs table drops the repeat.
 *
 * The nibble after the UUID version says which space an id belongs to: `d` for ids relengd derives
 * (its own events, jobs, composes), `b` for ids of messages that arrived without one. Intake
 * refuses an inbound message whose id is in the derived space, so nobody can occupy an id relengd
 * will derive later and thereby suppress the event it stands for.
 */
const DERIVED_SPACE = 0x0d;
const MESSAGE_SPACE = 0x0b;

/** Formats the first 16 bytes of a SHA-256 digest as a UUID (version 8, RFC 9562 "custom") in `space`. */
function uuidFromDigest(digest: Buffer, space: number): string {
  const b = Buffer.from(digest.subarray(0, 16));
  b[6] = 0x80 | space;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Length-prefixed parts: no choice of inputs can make two different lists hash alike. */
function hashOfParts(parts: readonly (string | Uint8Array)[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(`${typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength}:`);
    hash.update(part);
    hash.update(';');
  }
  return hash.digest();
}

function derived(causeId: string, decider: string, key: string): string {
  return uuidFromDigest(hashOfParts([causeId, decider, key]), DERIVED_SPACE);
}

/**
 * The id of an event that `emitter` (a listener, or `job.<kind>` for a job's result) emits
 * because of `causeId`; `key` tells apart the events one cause makes one emitter emit.
 */
export function emittedEventId(causeId: string, emitter: string, key: string): string {
  return derived(causeId, emitter, key);
}

/**
 * The id of a job `listener` enqueues because of `causeId`. Listeners that must remember their
 * job (to match its result later) compute it with this; the dispatcher uses the same.
 */
export function jobId(causeId: string, listener: string, key: string): string {
  return derived(causeId, listener, `job:${key}`);
}

/**
 * The id of one arch's part (`streamId`) of a compose another system made (Pungi's compose
 * `causeId`), for relengd's own events about it. relengd's composes are named in Pungi's style
 * from the stream's `ostree.composeId` template instead.
 */
export function composeId(causeId: string, listener: string, streamId: string): string {
  return derived(causeId, listener, `compose:${streamId}`);
}

/**
 * The id of the firing of one slot of a schedule (`relengd.schedule.fired`): the same for every
 * process that computes it, so a slot fired before a restart is a duplicate after it. In the
 * derived space, so no inbound message can occupy it and suppress the firing.
 */
export function scheduleFiringId(scheduleKey: string, slot: string): string {
  return uuidFromDigest(hashOfParts(['schedule', scheduleKey, slot]), DERIVED_SPACE);
}

/**
 * The id of the report that a watched topic went silent (`relengd.bus.silent`): per topic and the
 * last message seen before the silence (`never` when none was), so a silence is reported once
 * across checks and restarts, and the next one, after a message, gets an id of its own.
 */
export function busSilentId(topic: string, lastSeen: string | null): string {
  return uuidFromDigest(hashOfParts(['bus-silent', topic, lastSeen ?? 'never']), DERIVED_SPACE);
}

/**
 * The id of a message that arrived without one, the same on every path (AMQP, HTTP, an archive,
 * `relengd publish`): a hash of the topic as sent (with its prefix) and the body as canonical JSON,
 * so key order, spacing or a byte-order mark do not make the same message two.
 */
export function idOfIdLessMessage(topic: string, body: unknown): string {
  return uuidFromDigest(hashOfParts(['message', topic, canonicalJson(body)]), MESSAGE_SPACE);
}

/**
 * The `message_id` of the dead-letter copy of a rejected message that arrived without one: it never
 * became an event (so has no inbox id) and its body may not be JSON at all; its bytes name it, the
 * same for every redelivery, so a broker return can be matched to the copy.
 */
export function deadLetterCopyId(topic: string, body: Uint8Array): string {
  return uuidFromDigest(hashOfParts(['dead-letter', topic, body]), MESSAGE_SPACE);
}

const DERIVED_FORM = /^[0-9a-f]{8}-[0-9a-f]{4}-8d/i;

/** True for an id of the form relengd derives: no inbound message may carry one. */
export function isDerivedId(id: string): boolean {
  return DERIVED_FORM.test(id);
}
