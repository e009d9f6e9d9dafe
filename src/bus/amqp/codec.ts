/**
 * The AMQP wire format, both ways: one `decode` for everything that arrives, one `encode` for what
 * relengd publishes, and the copy that goes to the dead-letter queue.
 *
 * Inbound (topic = routing key, always):
 * - Fedora Messaging: UTF-8 JSON body; headers `fedora_messaging_schema`, `fedora_messaging_severity`,
 *   `sent-at` (-> time); property `message_id` (-> id) and `user_id` (-> publisher; RabbitMQ checks
 *   it against the connection's user).
 * - CloudEvents binary mode: JSON body, attributes in headers prefixed `cloudEvents_` (the AMQP
 *   0-9-1 binding), `cloudEvents:` (AMQP 1.0), `ce-` or `ce_`. An attribute wins over the Fedora
 *   equivalent (`cloudEvents_id` over `message_id`, `cloudEvents_time` over `sent-at`).
 * - CloudEvents structured mode: content type `application/cloudevents+json`, the event as the body.
 * A message without an id is decoded without one: `makeEnvelope` gives it the id every path gives
 * it (`idOfIdLessMessage`), so it is the same message whether it came live or from an archive.
 *
 * Outbound: Fedora Messaging's properties and headers plus every CloudEvents attribute as a
 * `cloudEvents_*` header, so both kinds of consumer read relengd's events unchanged.
 */
import type { Message, Options } from 'amqplib';
import type { Envelope, EnvelopeInput } from '../../events/envelope.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../events/envelope.ts';
import { deadLetterCopyId } from '../../events/ids.ts';
import { parseJsonBody } from '../../events/json-body.ts';
import { MessageRejectedError, RejectReason } from '../../errors.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import {
  attributeHeaders, attributeHeadersOf, attributesOf, CE_ATTRIBUTES, envelopeFields, JSON_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, structuredAttributes, structuredData, structuredEvent,
} from '../cloudevents-attributes.ts';

/** `Delivery.transport` and the `transport` column of stored events. */
export const TRANSPORT_NAME = 'amqp';

/** Header of a dead-lettered copy: why relengd rejected it (an AMQP table, see {@link deadLetterCopy}). */
export const ERROR_HEADER = 'x-relengd-error';

/** Fedora Messaging's severity for informational messages (10 debug, 20 info, 30 warning, 40 error). */
export const FEDORA_SEVERITY_INFO = 20;

/** A message ready for `channel.publish`. */
export interface AmqpMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
}

/** What `encode` produces; the exchange is the caller's. */
export type EncodedMessage = Pick<AmqpMessage, 'content' | 'options'>;

/** The parts of an amqplib message the codec reads (a consumed or returned message). */
export type WireMessage = Pick<Message, 'content' | 'fields' | 'properties'>;

/** CloudEvents attributes in binary-mode headers, whichever of the four prefixes they use. */
const ceHeaders = attributeHeaders(/^(?:cloudEvents[_:]|ce[-_])(.+)$/i, CE_ATTRIBUTES);
const UTF8 = /^utf-?8$/i;

// ---------------------------------------------------------------------------------------------
// decode

/**
 * A consumed message as a delivery for the intake: envelope fields, or the reason it cannot be one.
 * Never throws; `headers` keeps every wire header (as text) and the AMQP properties
 * (`amqp.routing-key`, `amqp.message-id`, `amqp.user-id`, ...) for the rejected table.
 */
export function decode(msg: WireMessage, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Delivery {
  try {
    const { input, body } = decodeInput(msg, maxBytes);
    // A Fedora Messaging or binary-mode body is the data itself: the store keeps those bytes (without a BOM) once.
    return body ? delivery(msg, { raw: body, decoded: input, rawIsData: true }) : delivery(msg, { raw: msg.content, decoded: input });
  } catch (error) {
    const rejection = error instanceof MessageRejectedError ? error : new MessageRejectedError(RejectReason.notJson, `undecodable message: ${String(error)}`);
    return delivery(msg, { raw: msg.content, decoded: rejection });
  }
}

/** A delivery whose `headers` (read only when it is rejected) are made when first read: most messages never need them. */
function delivery(msg: WireMessage, fields: Pick<Delivery, 'raw' | 'decoded' | 'rawIsData'>): Delivery {
  let headers: Record<string, string> | undefined;
  return {
    transport: TRANSPORT_NAME,
    ...fields,
    get headers() {
      return (headers ??= deliveryHeaders(msg));
    },
  };
}

/** The id a message carries: its CloudEvents id, else `message_id`; none when it has neither. */
export function wireIdOf(msg: WireMessage): string | undefined {
  const headers = msg.properties.headers ?? {};
  return ceHeaders.read(headers, headerText).id ?? nonEmpty(msg.properties.messageId);
}

/** Envelope fields, and the body bytes when they are the data (binary mode, Fedora Messaging). */
function decodeInput(msg: WireMessage, maxBytes: number): { input: EnvelopeInput; body?: Uint8Array } {
  const { properties: props, fields } = msg;
  const wire = props.headers ?? {};
  checkEncoding(props.contentEncoding);
  const contentType = String(props.contentType ?? '');
  if (contentType && !JSON_CONTENT_TYPE.test(contentType)) {
    throw new MessageRejectedError(RejectReason.mediaType, `content type ${contentType} is not JSON; relengd takes JSON messages only`, 'content-type');
  }
  const parsed = parseJsonBody(msg.content, { maxBytes });
  const fallbackTime = headerText(wire['sent-at']) ?? amqpTimestamp(props.timestamp);
  const common = { topic: fields.routingKey, publisher: nonEmpty(props.userId), headers: keptHeaders(wire) };

  if (STRUCTURED_CONTENT_TYPE.test(contentType)) {
    const event = structuredEvent(parsed.value, 'body');
    const ce = envelopeFields(structuredAttributes(event, CE_ATTRIBUTES));
    const input: EnvelopeInput = { ...common, data: structuredData(event), ...ce, id: ce.id ?? wireIdOf(msg), time: ce.time ?? fallbackTime };
    return { input };
  }

  const ce = envelopeFields(ceHeaders.read(wire, headerText));
  const input: EnvelopeInput = { ...common, data: parsed.value, ...ce, id: ce.id ?? nonEmpty(props.messageId), time: ce.time ?? fallbackTime };
  return { input, body: parsed.bytes };
}

function checkEncoding(encoding: unknown): void {
  if (encoding !== undefined && encoding !== null && encoding !== '' && !UTF8.test(String(encoding))) {
    throw new MessageRejectedError(RejectReason.mediaType, `content encoding ${String(encoding)} is not utf-8`, 'content-encoding');
  }
}

/**
 * Headers kept on the envelope: the producer's scalar headers as text (`fedora_messaging_*`,
 * `sent-at`, `priority`, unknown `cloudEvents_*` extensions). Not kept: CloudEvents attributes (they
 * are envelope fields), broker-added `x-*` headers (`x-delivery-count`, `x-death`, federation's
 * `x-received-from`: they differ between deliveries of the same message) and tables or arrays.
 */
function keptHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase().startsWith('x-') || ceHeaders.attributeOf(key) !== undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && !isTimestamp(value)) continue;
    const text = headerText(value);
    if (text !== undefined) out[key] = text;
  }
  return out;
}

/** Every wire header as text, and the AMQP properties under `amqp.*`: what the rejected table keeps. */
function deliveryHeaders(msg: WireMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(msg.properties.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) out[key] = text;
  }
  const p = msg.properties;
  const pseudo: Record<string, unknown> = {
    'amqp.exchange': msg.fields.exchange,
    'amqp.routing-key': msg.fields.routingKey,
    'amqp.message-id': p.messageId,
    'amqp.user-id': p.userId,
    'amqp.content-type': p.contentType,
    'amqp.content-encoding': p.contentEncoding,
    'amqp.timestamp': p.timestamp,
  };
  for (const [key, value] of Object.entries(pseudo)) {
    const text = headerText(value);
    if (text !== undefined && text !== '') out[key] = text;
  }
  return out;
}

/** A header value as text: strings as they are, numbers and booleans printed, AMQP timestamps as ISO times, tables as JSON. */
function headerText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (isTimestamp(value)) return amqpTimestamp(value.value);
  return JSON.stringify(value);
}

function isTimestamp(value: unknown): value is { '!': 'timestamp'; value: number } {
  return isRecord(value) && value['!'] === 'timestamp' && typeof value.value === 'number';
}

/** AMQP timestamps are POSIX seconds. */
/** The largest time a Date holds, in seconds; amqplib decodes timestamps up to 2^64. */
const MAX_DATE_SECONDS = 8.64e12;

function amqpTimestamp(seconds: unknown): string | undefined {
  return typeof seconds === 'number' && Number.isFinite(seconds) && Math.abs(seconds) <= MAX_DATE_SECONDS ? new Date(seconds * 1000).toISOString() : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

// ---------------------------------------------------------------------------------------------
// encode

/**
 * `fedora_messaging_schema` of a relengd event: `relengd.compose.finished` -> `relengd.compose.finished.v1`.
 * Other topics (`relengd publish` of a foreign topic) name Fedora Messaging's base schema, `base.message`.
 */
export function fedoraSchemaName(topic: string): string {
  return topic.startsWith('relengd.') ? `${topic}.v1` : 'base.message';
}

/** Fedora's `sent-at`: ISO 8601 in UTC with `+00:00` and without fractions (`2019-07-30T19:12:22+00:00`). */
export function fedoraSentAt(time: string): string {
  return new Date(time).toISOString().replace(/\.\d+Z$/, '+00:00');
}

/**
 * An envelope as Fedora Messaging publishes a message: JSON body in UTF-8, persistent,
 * `message_id` = envelope id, headers `fedora_messaging_schema`, `fedora_messaging_severity`,
 * `sent-at` (the event's time), plus the CloudEvents attributes as `cloudEvents_*` headers.
 */
export function encode(envelope: Envelope): EncodedMessage {
  const ms = Date.parse(envelope.time);
  const headers: Record<string, string | number> = {
    fedora_messaging_schema: fedoraSchemaName(envelope.topic),
    fedora_messaging_severity: FEDORA_SEVERITY_INFO,
    'sent-at': fedoraSentAt(envelope.time),
    ...attributeHeadersOf({ ...attributesOf(envelope), datacontenttype: 'application/json' }, 'cloudEvents_'),
  };
  return {
    content: Buffer.from(JSON.stringify(envelope.data), 'utf8'),
    options: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      messageId: envelope.id,
      timestamp: Math.floor(ms / 1000),
      type: envelope.type,
      appId: 'relengd',
      headers,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dead-letter copy

/**
 * The copy of a rejected message for the dead-letter exchange: the same body and properties, the
 * original headers, and `x-relengd-error`, a table `{reason, detail, field?, exchange, routing-key,
 * user-id?, delivery-count, rejected-at}`. `user_id` moves into that table: RabbitMQ refuses a
 * `user_id` other than the publishing connection's user. The copy always has a `message_id`
 * (its CloudEvents id, or `deadLetterCopyId` when it had none), so an unroutable return can be
 * matched to it.
 */
export function deadLetterCopy(msg: WireMessage, error: MessageRejectedError, options: { exchange: string; rejectedAt: string }): AmqpMessage {
  const p = msg.properties;
  const { 'x-delivery-count': deliveryCount, ...original } = p.headers ?? {};
  const why: Record<string, unknown> = {
    reason: error.reason,
    detail: error.message,
    field: error.field,
    exchange: msg.fields.exchange,
    'routing-key': msg.fields.routingKey,
    'user-id': nonEmpty(p.userId),
    'delivery-count': typeof deliveryCount === 'number' ? deliveryCount + 1 : 1,
    'rejected-at': options.rejectedAt,
  };
  const publish: Options.Publish = {
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    deliveryMode: 2,
    priority: p.priority,
    correlationId: p.correlationId,
    replyTo: p.replyTo,
    messageId: nonEmpty(p.messageId) ?? wireIdOf(msg) ?? deadLetterCopyId(msg.fields.routingKey, msg.content),
    timestamp: p.timestamp,
    type: p.type,
    appId: p.appId,
    headers: { ...original, [ERROR_HEADER]: withoutUndefined(why) },
  };
  return { exchange: options.exchange, routingKey: msg.fields.routingKey, content: msg.content, options: withoutUndefined(publish) };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
