/**
 * `relengd publish` onto Kafka: a message (as a file holds it: topic, headers, body, id) as a
 * binary-mode CloudEvent, encoded as relengd publishes its own events (codec.ts), sent with the
 * outbox's publisher (acks from all in-sync replicas) by a client of its own that lives for the send.
 */
import type { KafkaConfig } from '../../config/index.ts';
import { makeEnvelope, type Envelope } from '../../events/envelope.ts';
import type { Logger } from '../../log.ts';
import { encode, type OutgoingRecord } from './codec.ts';
import { connectAdmin, createClient, ONE_SHOT_RETRY } from './connection.ts';
import { KafkaPublishError } from './errors.ts';
import { KafkaPublisher } from './publisher.ts';

/** What `relengd publish` puts on the wire as the CloudEvent's `source`, whatever the transport. */
const CLI_SOURCE = '/relengd/cli';

/** Headers of the file that the encoding writes itself (CloudEvents attributes, the content type): the encoding's win. */
const ENCODED_HEADER = /^(?:ce[_-].*|content-type)$/i;

/**
 * The envelope relengd will make of a message, and the record that carries it on `message.topic`
 * (the Kafka topic of that name). `sent-at` becomes the time, as on every path; without one, `now`.
 * The file's other headers ride along as record headers (text; JSON for other values).
 * @throws MessageRejectedError when the body does not fit the topic's schema.
 */
export function recordOfMessage(
  message: { topic: string; body: unknown; id?: string | undefined; headers?: Record<string, unknown> | undefined },
  options: { topicPrefix: string; now: string },
): { envelope: Envelope; record: OutgoingRecord } {
  const sentAt = message.headers?.['sent-at'];
  const envelope = makeEnvelope(
    { topic: message.topic, data: message.body, id: message.id, source: CLI_SOURCE, time: typeof sentAt === 'string' ? sentAt : undefined },
    { prefix: options.topicPrefix, receivedAt: options.now },
  );
  const record = encode(envelope, message.topic);
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined || value === null || ENCODED_HEADER.test(key)) continue;
    extra[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { envelope, record: { ...record, message: { ...record.message, headers: { ...extra, ...record.message.headers } } } };
}

/**
 * Sends records and waits until every in-sync replica has them. A topic that does not exist is an
 * error, not a new topic: nobody consumes it (relengd subscribes to the topics that exist when it
 * starts), as AMQP answers a message no queue is bound to.
 * @throws KafkaTransportError when the cluster cannot be reached; KafkaPublishError when a topic is missing or a send is not acknowledged
 */
export async function sendRecords(config: KafkaConfig, records: readonly OutgoingRecord[], options: { logger: Logger; env?: Record<string, string | undefined> | undefined }): Promise<void> {
  const logger = options.logger.child({ component: 'bus.kafka' });
  const client = createClient({ config, logger, retry: ONE_SHOT_RETRY, env: options.env });
  const admin = await connectAdmin(client, config.brokers);
  try {
    const existing = new Set(await admin.listTopics());
    const absent = records.find((r) => !existing.has(r.topic));
    if (absent) throw new KafkaPublishError(absent.topic, idOf(absent), 'no such topic on the cluster, so nobody consumes it (create it first; relengd subscribes to the topics that exist when it starts)');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const publisher = new KafkaPublisher({ client, logger, ackTimeoutMs: 30_000 });
  await publisher.connect();
  try {
    const failed = (await publisher.publish(records)).find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
  } finally {
    await publisher.close();
  }
}

function idOf(record: OutgoingRecord): string | undefined {
  const id = record.message.headers?.ce_id;
  return typeof id === 'string' ? id : undefined;
}
