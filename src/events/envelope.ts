import { CloudEvent } from 'cloudevents';
import { MessageRejectedError, RejectReason } from '../errors.ts';
import { idOfIdLessMessage } from './ids.ts';
import { parseJsonBody } from './json-body.ts';
import { cloudEventTypeOf, topicOfCloudEventType } from './relengd/index.ts';
import { splitTopic, withPrefix } from './topics.ts';
import { validateData } from './validate.ts';

/**
 * An event as relengd handles it, whatever wire it came from: CloudEvents attributes plus the
 * bare topic (catalogue key) and the wire headers worth keeping.
 */
export interface Envelope<D = unknown> {
  /** Message id: the inbox key. */
  readonly id: string;
  /** Topic without deployment prefix, e.g. `bodhi.compose.complete`. */
  readonly topic: string;
  /** Deployment prefix the topic arrived with ('' when none). */
  readonly prefix: string;
  /** CloudEvents type. */
  readonly type: string;
  readonly source: string;
  /** When the producer sent it (ISO 8601). Listeners use this as "now", never the wall clock. */
  readonly time: string;
  readonly subject?: string | undefined;
  /** Id of the message that started the chain. */
  readonly correlationid: string;
  /** Id of the direct cause, for events relengd derived. */
  readonly causationid?: string | undefined;
  /** Who published it, when the transport authenticated that (AMQP user_id). */
  readonly publisher?: string | undefined;
  /** Wire headers kept as received (fedora_messaging_*, sent-at, ...). */
  readonly headers: Readonly<Record<string, string>>;
  /** The validated message body. */
  readonly data: D;
  /** Whether the topic has a schema in the catalogue. Unknown topics are kept but no listener reads them. */
  readonly known: boolean;
}

export interface EnvelopeInput {
  /** The topic as received, with or without prefix. */
  topic: string;
  data: unknown;
  /** The id the message carried; none: `idOfIdLessMessage(topic, data)`. */
  id?: string | undefined;
  type?: string | undefined;
  source?: string | undefined;
  time?: string | undefined;
  subject?: string | undefined;
  correlationid?: string | undefined;
  causationid?: string | undefined;
  publisher?: string | undefined;
  headers?: Record<string, string> | undefined;
}

/** Messages larger than this are rejected at the edge (also configurable per transport). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * The one way an inbound message becomes an Envelope: splits the prefix, validates the body
 * against the topic's schema and fills defaults deterministically.
 * @param receivedAt used as `time` only when the producer sent none.
 * @throws MessageRejectedError naming the reason and field.
 */
export function makeEnvelope(input: EnvelopeInput, options: { prefix?: string | undefined; receivedAt: string }): Envelope {
  if (!input.topic) throw new MessageRejectedError(RejectReason.unknownTopic, 'message has no topic', 'topic');
  const { prefix, name } = splitTopic(input.topic, options.prefix);
  const { data, known } = validateData(name, input.data);
  // Every path leaves an id-less message's id to this one rule, so live and archived copies agree.
  const id = input.id || idOfIdLessMessage(input.topic, input.data);
  const time = normalizeTime(input.time) ?? options.receivedAt;
  return {
    id,
    topic: name,
    prefix,
    type: input.type ?? (name.startsWith('relengd.') ? cloudEventTypeOf(name) : input.topic),
    source: input.source ?? defaultSource(prefix, name),
    time,
    subject: input.subject,
    correlationid: input.correlationid ?? id,
    causationid: input.causationid,
    publisher: input.publisher,
    headers: input.headers ?? {},
    data,
    known,
  };
}

function defaultSource(prefix: string, name: string): string {
  const app = name.split('.')[0] ?? 'unknown';
  return prefix ? `/${prefix}/${app}` : `/${app}`;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Accepts ISO 8601 times such as Fedora's `sent-at` (`2019-06-07T16:49:58+00:00`); a time
 * without offset is taken as UTC (never the daemon's time zone). Anything else -> undefined.
 */
function normalizeTime(value: string | undefined): string | undefined {
  if (!value || !ISO_TIME.test(value.trim())) return undefined;
  const text = value.trim();
  const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The full routing key an envelope is published under. */
export function routingKeyOf(envelope: Pick<Envelope, 'topic' | 'prefix'>, prefix: string): string {
  return withPrefix(envelope.topic, envelope.prefix || prefix);
}

/** Extension attribute carrying the routing key, so a CloudEvent alone says which topic it is. */
export const TOPIC_EXTENSION = 'topic';

/** Envelope -> CloudEvent (for the HTTP and Kafka bindings and for the `cloudEvents_*` AMQP headers). */
export function toCloudEvent(envelope: Envelope, prefix: string): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    specversion: '1.0',
    id: envelope.id,
    type: envelope.type,
    source: envelope.source,
    time: envelope.time,
    ...(envelope.subject ? { subject: envelope.subject } : {}),
    datacontenttype: 'application/json',
    data: envelope.data,
    correlationid: envelope.correlationid,
    ...(envelope.causationid ? { causationid: envelope.causationid } : {}),
    [TOPIC_EXTENSION]: routingKeyOf(envelope, prefix),
  }, false);
}

/** CloudEvent -> envelope input: the topic comes from the `topic` extension, else from the type. */
export function inputFromCloudEvent(event: CloudEvent<unknown>): EnvelopeInput {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
  // The SDK checks little in structured mode: attributes that are not strings are refused here.
  const type = str(event.type);
  if (type === undefined) throw new MessageRejectedError(RejectReason.notCloudEvent, 'type must be a non-empty string', 'type');
  for (const name of ['source', 'subject', 'time'] as const) {
    if (event[name] !== undefined && typeof event[name] !== 'string') throw new MessageRejectedError(RejectReason.notCloudEvent, `${name} must be a string`, name);
  }
  const topicExt = event[TOPIC_EXTENSION];
  const topic = typeof topicExt === 'string' && topicExt ? topicExt : topicOfCloudEventType(type);
  return {
    topic,
    data: dataOf(event),
    id: str(event.id),
    type,
    source: str(event.source),
    time: str(event.time),
    subject: str(event.subject),
    correlationid: str(event['correlationid']),
    causationid: str(event['causationid']),
  };
}

/** The event's data as JSON: the SDK turns `data_base64` into bytes, which must hold JSON here. */
function dataOf(event: CloudEvent<unknown>): unknown {
  // data_base64 comes back as a typed array (a Uint32Array in some SDK versions): its elements are the bytes.
  if (ArrayBuffer.isView(event.data)) return decodeJsonBytes(Uint8Array.from(event.data as unknown as ArrayLike<number>));
  if (event.data === undefined && event.data_base64) return decodeJsonBytes(Buffer.from(event.data_base64, 'base64'));
  return event.data;
}

function decodeJsonBytes(bytes: Uint8Array): unknown {
  try {
    return parseJsonBody(bytes, { maxBytes: DEFAULT_MAX_MESSAGE_BYTES }).value;
  } catch {
    throw new MessageRejectedError(RejectReason.notJson, 'data_base64 does not hold JSON', 'data_base64');
  }
}
