/**
 * The Kafka wire format, both ways: one `decode` for every record consumed, one `encode` for what
 * relengd publishes, and the copy that goes to the dead-letter topic.
 *
 * Inbound (CloudEvents Kafka protocol binding 1.0, and Fedora Messaging bridged into Kafka):
 * - CloudEvents structured mode: header `content-type: application/cloudevents+json`, the event as
 *   the value (`data`, or `data_base64` holding UTF-8 JSON).
 * - CloudEvents binary mode: attributes in `ce_*` headers (`ce-*` accepted too), the value is the
 *   data, `content-type` its media type (JSON only).
 * - Fedora Messaging bodies bridged into Kafka: the value is the JSON body; headers
 *   `fedora_messaging_schema`, `fedora_messaging_severity`, `sent-at` (-> time), `message_id` (-> id).
 * The topic is, in this order: the CloudEvents `topic` extension, a `topic` header (a bridge that
 * puts many bus topics on one Kafka topic), the Kafka topic's name. The time: `time` / `sent-at`,
 * else the record's timestamp. A record carries no authenticated identity (`publisher` stays
 * unset: see src/trust.ts and the README's "Against Kafka"), whatever its headers say.
 *
 * Outbound: binary mode. Value = the event's data as JSON, key = the subject (the stream or ref,
 * so one ref's events land on one partition, in order), headers `ce_specversion`, `ce_id`,
 * `ce_type`, `ce_source`, `ce_time`, `ce_subject`, `ce_partitionkey`, `ce_correlationid`,
 * `ce_causationid`, `ce_topic` and `content-type: application/json`.
 *
 * Only this folder imports kafkajs; the types here are the parts of its records the codec reads.
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { Envelope, EnvelopeInput } from '../../events/envelope.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, TOPIC_EXTENSION } from '../../events/envelope.ts';
import { parseJsonBody } from '../../events/json-body.ts';
import { MessageRejectedError, RejectReason } from '../../errors.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import {
  attributeHeaders, attributeHeadersOf, attributesOf, CE_ATTRIBUTES, envelopeFields, JSON_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, structuredAttributes, structuredData, structuredEvent,
} from '../cloudevents-attributes.ts';

/** `Delivery.transport` and the `transport` column of stored events. */
export const TRANSPORT_NAME = 'kafka';

/** Header of a dead-lettered copy: why relengd rejected it, as JSON (see {@link deadLetterCopy}). */
export const ERROR_HEADER = 'x-relengd-error';

/** A consumed record and where it came from. */
export interface WireRecord {
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset' | 'timestamp'>;
}

/** A record ready for `producer.send`. */
export interface OutgoingRecord {
  topic: string;
  message: Message;
}

/**
 * CloudEvents attributes relengd reads, with the `topic` extension and `partitionkey` (the
 * Partitioning extension, the subject again: read as neither, and not kept as a header).
 */
const KAFKA_ATTRIBUTES = [...CE_ATTRIBUTES, 'partitionkey', TOPIC_EXTENSION] as const;
type KafkaAttribute = (typeof KAFKA_ATTRIBUTES)[number];
const ceHeaders = attributeHeaders(/^ce[_-](.+)$/i, KAFKA_ATTRIBUTES);

// ---------------------------------------------------------------------------------------------
// decode

/**
 * A consumed record as a delivery for the intake: envelope fields, or the reason it cannot be one.
 * Never throws; `headers` keeps every record header (as text) and the record's coordinates
 * (`kafka.topic`, `kafka.partition`, `kafka.offset`, `kafka.key`, `kafka.timestamp`) for the
 * rejected table.
 */
export function decode(record: WireRecord, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Delivery {
  const value = record.message.value;
  const raw: Uint8Array = value ?? new Uint8Array(0);
  const headers = textHeaders(record.message.headers);
  const ce = ceHeaders.read(headers, textValue);
  const wire = wireNames(record, headers, ce);
  const base = { transport: TRANSPORT_NAME, raw, headers: deliveryHeaders(record, headers), wire, source: 'live' as const };
  try {
    const { input, body } = decodeInput(record, { headers, ce, wire }, maxBytes);
    return body ? { ...base, raw: body, decoded: input, rawIsData: true } : { ...base, decoded: input };
  } catch (error) {
    const rejection = error instanceof MessageRejectedError ? error : new MessageRejectedError(RejectReason.notJson, `undecodable record: ${String(error)}`);
    return { ...base, decoded: rejection };
  }
}

/** What `decode` read from the record's headers. */
interface HeaderReading {
  /** Every header, as text. */
  headers: Record<string, string>;
  /** Binary-mode attributes. */
  ce: Partial<Record<KafkaAttribute, string>>;
  wire: { topic: string; id: string | undefined };
}

/** Envelope fields, and the value's bytes when they are the data (binary mode, Fedora Messaging). */
function decodeInput(record: WireRecord, { headers, ce, wire }: HeaderReading, maxBytes: number): { input: EnvelopeInput; body?: Uint8Array } {
  const value = record.message.value;
  if (value === null || value === undefined) {
    throw new MessageRejectedError(RejectReason.notJson, 'record has no value (a tombstone); relengd takes JSON messages only');
  }
  const contentType = headerNamed(headers, 'content-type') ?? '';
  if (contentType && !JSON_CONTENT_TYPE.test(contentType)) {
    throw new MessageRejectedError(RejectReason.mediaType, `content type ${contentType} is not JSON; relengd takes JSON messages only`, 'content-type');
  }
  if (ce.datacontenttype !== undefined && !JSON_CONTENT_TYPE.test(ce.datacontenttype)) {
    throw new MessageRejectedError(RejectReason.mediaType, `datacontenttype ${ce.datacontenttype} is not JSON; relengd takes JSON messages only`, 'datacontenttype');
  }
  const parsed = parseJsonBody(value, { maxBytes });
  const fallbackTime = headerNamed(headers, 'sent-at') ?? recordTime(record.message.timestamp);
  const common = { headers: keptHeaders(headers) };

  if (STRUCTURED_CONTENT_TYPE.test(contentType)) {
    const event = structuredEvent(parsed.value, 'value');
    const attributes = structuredAttributes(event, KAFKA_ATTRIBUTES);
    const dct = attributes.datacontenttype;
    if (dct !== undefined && !JSON_CONTENT_TYPE.test(dct)) {
      throw new MessageRejectedError(RejectReason.mediaType, `datacontenttype ${dct} is not JSON; relengd takes JSON messages only`, 'datacontenttype');
    }
    const fields = envelopeFields(attributes);
    const input: EnvelopeInput = { ...common, topic: attributes.topic ?? topicHeader(headers) ?? record.topic, data: structuredData(event), ...fields, time: fields.time ?? fallbackTime };
    return { input };
  }

  const fields = envelopeFields(ce);
  const input: EnvelopeInput = { ...common, data: parsed.value, ...fields, topic: wire.topic, id: wire.id, time: fields.time ?? fallbackTime };
  return { input, body: parsed.bytes };
}

/**
 * The topic and id a record names outside its value, binary mode's and Fedora Messaging's: the
 * topic is `ce_topic`, else a `topic` header (a bridge that puts the whole bus on one Kafka topic),
 * else the Kafka topic; the id is `ce_id`, else `message_id`. Also what the rejected table keeps of
 * a record whose value cannot be read.
 */
function wireNames(record: WireRecord, headers: Record<string, string>, ce: HeaderReading['ce']): HeaderReading['wire'] {
  return { topic: ce.topic ?? topicHeader(headers) ?? record.topic, id: ce.id ?? nonEmpty(headerNamed(headers, 'message_id')) };
}

function topicHeader(headers: Record<string, string>): string | undefined {
  return nonEmpty(headerNamed(headers, 'topic'));
}

/** Record headers as text: a repeated header keeps its first value. */
function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined || first === null) continue;
    out[key] = typeof first === 'string' ? first : Buffer.from(first).toString('utf8');
  }
  return out;
}

/** A header by name, case-insensitively (Kafka header names are case-sensitive; producers are not consistent). */
function headerNamed(headers: Record<string, string>, name: string): string | undefined {
  if (Object.hasOwn(headers, name)) return headers[name];
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** Headers here are text already (`textHeaders`). */
function textValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Headers kept on the envelope: the producer's headers as text (`fedora_messaging_*`, `sent-at`,
 * unknown `ce_*` extensions). Not kept: CloudEvents attributes (they are envelope fields),
 * `content-type`, the `topic` header (it is the topic) and `x-*` headers.
 */
function keptHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('x-') || lower === 'content-type' || lower === 'topic' || ceHeaders.attributeOf(key) !== undefined) continue;
    out[key] = value;
  }
  return out;
}

/** Every header as text, and the record's coordinates under `kafka.*`: what the rejected table keeps. */
function deliveryHeaders(record: WireRecord, headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  out['kafka.topic'] = record.topic;
  out['kafka.partition'] = String(record.partition);
  out['kafka.offset'] = record.message.offset;
  if (record.message.key) out['kafka.key'] = Buffer.from(record.message.key).toString('utf8');
  const time = recordTime(record.message.timestamp);
  if (time) out['kafka.timestamp'] = time;
  return out;
}

/** Kafka timestamps are milliseconds since the epoch, as a string. */
function recordTime(ms: string | undefined): string | undefined {
  const n = Number(ms);
  return ms !== undefined && ms !== '' && Number.isFinite(n) && n > 0 ? new Date(n).toISOString() : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}


// ---------------------------------------------------------------------------------------------
// encode

/**
 * An envelope as a binary-mode CloudEvent on `topic` (the full routing key, prefix included).
 * Key = subject: the default partitioner (murmur2, as the Java client's) sends one subject's
 * events to one partition. An event without a subject has no key (spread over partitions).
 */
export function encode(envelope: Envelope, topic: string): OutgoingRecord {
  const headers: Record<string, string> = {
    ...attributeHeadersOf(attributesOf(envelope), 'ce_'),
    ...(envelope.subject ? { ce_partitionkey: envelope.subject } : {}),
    [`ce_${TOPIC_EXTENSION}`]: topic,
    'content-type': 'application/json',
  };
  return {
    topic,
    message: {
      key: envelope.subject ? envelope.subject : null,
      value: Buffer.from(JSON.stringify(envelope.data), 'utf8'),
      headers,
      timestamp: String(Date.parse(envelope.time)),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dead-letter copy

/**
 * The copy of a rejected record for the dead-letter topic: the same key, value and headers, plus
 * `x-relengd-error`, JSON `{reason, detail, field?, topic, partition, offset, delivery-count,
 * rejected-at}`. The original timestamp is kept, so the copy sorts where the record did.
 */
export function deadLetterCopy(record: WireRecord, error: MessageRejectedError, options: { topic: string; rejectedAt: string; deliveryCount: number }): OutgoingRecord {
  const m = record.message;
  const why: Record<string, unknown> = {
    reason: error.reason,
    detail: error.message,
    ...(error.field !== undefined ? { field: error.field } : {}),
    topic: record.topic,
    partition: record.partition,
    offset: m.offset,
    'delivery-count': options.deliveryCount,
    'rejected-at': options.rejectedAt,
  };
  const headers: IHeaders = {};
  for (const [key, value] of Object.entries(m.headers ?? {})) {
    if (key !== ERROR_HEADER && value !== undefined) headers[key] = value;
  }
  headers[ERROR_HEADER] = JSON.stringify(why);
  return {
    topic: options.topic,
    message: {
      key: m.key,
      value: m.value,
      headers,
      ...(recordTime(m.timestamp) ? { timestamp: m.timestamp } : {}),
    },
  };
}
