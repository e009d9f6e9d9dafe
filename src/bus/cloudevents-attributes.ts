/**
 * CloudEvents attributes as the broker bindings carry them (AMQP: amqp/codec.ts, Kafka:
 * kafka/codec.ts), in one place: which attributes relengd reads and writes, binary-mode headers
 * (a prefix and the attribute's name) read into attributes, a structured-mode event's attributes
 * and data, the envelope fields the attributes give, and the attributes of an event relengd
 * publishes. Each codec adds its own header prefixes, extensions and wire fallbacks (Fedora
 * Messaging's `message_id` and `sent-at`).
 */
import type { Envelope, EnvelopeInput } from '../events/envelope.ts';
import { parseJsonText } from '../events/json-body.ts';
import { MessageRejectedError, RejectReason } from '../errors.ts';

/** Attributes relengd maps to envelope fields, and `datacontenttype`, which must say JSON. */
export const CE_ATTRIBUTES = ['specversion', 'id', 'type', 'source', 'time', 'subject', 'correlationid', 'causationid', 'datacontenttype'] as const;
export type CeAttribute = (typeof CE_ATTRIBUTES)[number];

/** Structured mode: the message is the whole event, as JSON. */
export const STRUCTURED_CONTENT_TYPE = /^application\/cloudevents\+json\b/i;

/** Content types whose body is JSON; a message without one is read as JSON too (Fedora Messaging's default, and bridges often set none). */
export const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** The attribute headers of one binding: a header name is its prefix and then an attribute's name, in any case. */
export interface AttributeHeaders<A extends string> {
  /** The attribute a header carries; undefined for any other header. */
  attributeOf(header: string): A | undefined;
  /** The attributes in `headers`, the first non-empty value of each; `text` reads a header value as text. */
  read(headers: Readonly<Record<string, unknown>>, text: (value: unknown) => string | undefined): Partial<Record<A, string>>;
}

/** @param header matches an attribute header, capturing the attribute's name (`/^ce[_-](.+)$/i`). */
export function attributeHeaders<const A extends string>(header: RegExp, attributes: readonly A[]): AttributeHeaders<A> {
  const known = new Set<string>(attributes);
  const attributeOf = (name: string): A | undefined => {
    const attribute = header.exec(name)?.[1]?.toLowerCase();
    return attribute !== undefined && known.has(attribute) ? (attribute as A) : undefined;
  };
  return {
    attributeOf,
    read(headers, text) {
      const out: Partial<Record<A, string>> = {};
      for (const [key, value] of Object.entries(headers)) {
        const attribute = attributeOf(key);
        if (attribute === undefined) continue;
        const found = nonEmpty(text(value));
        if (found !== undefined) out[attribute] ??= found;
      }
      return out;
    },
  };
}

/**
 * A structured-mode event: the parsed message must be an object with a `specversion`.
 * @param part what the binding calls the message's payload, for the rejection (`body`, `value`).
 * @throws MessageRejectedError `not-cloudevent`
 */
export function structuredEvent(parsed: unknown, part: string): Readonly<Record<string, unknown>> {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as Record<string, unknown>).specversion !== 'string') {
    throw new MessageRejectedError(RejectReason.notCloudEvent, `content type is application/cloudevents+json but the ${part} has no specversion`, 'specversion');
  }
  return parsed as Record<string, unknown>;
}

/** A structured-mode event's attributes among `names`: non-empty strings only. */
export function structuredAttributes<const A extends string>(event: Readonly<Record<string, unknown>>, names: readonly A[]): Partial<Record<A, string>> {
  const out: Partial<Record<A, string>> = {};
  for (const name of names) {
    const value = nonEmpty(event[name]);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A structured-mode event's data: `data`, or `data_base64` holding UTF-8 JSON.
 * @throws MessageRejectedError `not-cloudevent` (not a string), `not-json`
 */
export function structuredData(event: Readonly<Record<string, unknown>>): unknown {
  if (!('data_base64' in event)) return event.data;
  const encoded = event.data_base64;
  if (typeof encoded !== 'string') throw new MessageRejectedError(RejectReason.notCloudEvent, 'data_base64 is not a string', 'data_base64');
  try {
    return parseJsonText(utf8Decoder.decode(Buffer.from(encoded, 'base64')));
  } catch {
    throw new MessageRejectedError(RejectReason.notJson, 'data_base64 does not hold UTF-8 JSON', 'data_base64');
  }
}

/** The envelope fields CloudEvents attributes give; each codec falls back on its wire's own where one is missing. */
export function envelopeFields(attributes: Partial<Record<CeAttribute, string>>): Pick<EnvelopeInput, 'id' | 'type' | 'source' | 'time' | 'subject' | 'correlationid' | 'causationid'> {
  const { id, type, source, time, subject, correlationid, causationid } = attributes;
  return { id, type, source, time, subject, correlationid, causationid };
}

/**
 * The attributes of an event relengd publishes, in the order written: `specversion`, `id`, `type`,
 * `source`, `time`, `correlationid`, then `subject` and `causationid` when it has them. The data's
 * content type is the binding's to write (a header of its own on Kafka).
 */
export function attributesOf(envelope: Envelope): Partial<Record<CeAttribute, string>> {
  return {
    specversion: '1.0',
    id: envelope.id,
    type: envelope.type,
    source: envelope.source,
    time: envelope.time,
    correlationid: envelope.correlationid,
    ...(envelope.subject ? { subject: envelope.subject } : {}),
    ...(envelope.causationid ? { causationid: envelope.causationid } : {}),
  };
}

/** The attributes as headers named `prefix` + attribute (`cloudEvents_id`, `ce_id`). */
export function attributeHeadersOf(attributes: Partial<Record<CeAttribute, string>>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) out[`${prefix}${name}`] = value;
  return out;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
