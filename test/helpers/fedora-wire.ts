/**
 * Publishing the way Fedora Messaging does (fedora_messaging/message.py, `_build_properties` and
 * `_encoded_body`): exchange amq.topic, routing key = topic, body `json.dumps(body)` in UTF-8,
 * content type application/json, content encoding utf-8, persistent, `message_id`, headers
 * `fedora_messaging_schema`, `fedora_messaging_severity`, `sent-at` (no fractions, `+00:00`).
 */
import type { ConfirmChannel, Options } from 'amqplib';
import type { FedoraFixture } from './fixtures.ts';

/** Python's `json.dumps` with its defaults: `", "` and `": "` separators, non-ASCII as `\uXXXX`. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${asciiString(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  if (typeof value === 'string') return asciiString(value);
  return JSON.stringify(value);
}

function asciiString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface FedoraMessage {
  topic: string;
  body: unknown;
  /** `message_id`; omitted when undefined (a producer that sets none). */
  id?: string | undefined;
  /** Headers as captured; the three Fedora Messaging always sets are added when missing. */
  headers?: Record<string, unknown> | undefined;
  /** AMQP `user_id`: must be the publishing connection's user. */
  userId?: string | undefined;
  /** Used for `sent-at` when the headers have none. */
  sentAt?: string | undefined;
}

/** The message as Fedora Messaging puts it on the wire. */
export function fedoraWire(m: FedoraMessage): { routingKey: string; content: Buffer; options: Options.Publish } {
  const headers: Record<string, unknown> = {
    fedora_messaging_schema: 'base.message',
    fedora_messaging_severity: 20,
    'sent-at': m.sentAt ?? '2019-06-07T16:49:58+00:00',
    ...(m.headers ?? {}),
  };
  return {
    routingKey: m.topic,
    content: Buffer.from(pythonJsonDumps(m.body), 'utf8'),
    options: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      headers,
      ...(m.id !== undefined ? { messageId: m.id } : {}),
      ...(m.userId !== undefined ? { userId: m.userId } : {}),
    },
  };
}

/** Publishes and waits for the broker's confirms. */
export async function publishFedora(channel: ConfirmChannel, messages: readonly FedoraMessage[]): Promise<void> {
  for (const m of messages) {
    const wire = fedoraWire(m);
    if (!channel.publish('amq.topic', wire.routingKey, wire.content, wire.options)) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  await channel.waitForConfirms();
}

/** A fixture as a Fedora Messaging message; `sent-at` from the fedmsg-era timestamp when there is one. */
export function fromFixture(fixture: FedoraFixture): FedoraMessage {
  const ts = fixture.fedmsg_envelope?.timestamp;
  return {
    topic: fixture.topic,
    body: fixture.body,
    id: fixture.id,
    headers: fixture.headers,
    sentAt: typeof ts === 'number' ? new Date(ts * 1000).toISOString().replace(/\.\d+Z$/, '+00:00') : undefined,
  };
}
