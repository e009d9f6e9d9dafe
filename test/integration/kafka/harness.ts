/**
 * The consuming side as the daemon builds it (a real SQLite store, the intake, the Kafka transport
 * delivering batches to `intake.accept`), and a plain kafkajs client for the test's own producing
 * and reading, against the mock cluster (test/helpers/kafka-mock).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type IHeaders, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { KafkaTransport } from '../../../src/bus/kafka/index.ts';
import type { DeliverBatch } from '../../../src/bus/transport.ts';
import { systemClock } from '../../../src/clock.ts';
import { parseConfig, type Config } from '../../../src/config/index.ts';
import { silentLogger, type Logger } from '../../../src/log.ts';
import { Intake } from '../../../src/pipeline/intake.ts';
import type { RetryPolicy } from '../../../src/retry.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { pythonJsonDumps } from '../../helpers/fedora-wire.ts';

/** Quick retries and refetch pauses. */
export const testRetry: RetryPolicy = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0, maxAttempts: 20 };

export interface TestNames {
  suffix: string;
  groupId: string;
  deadLetter: string;
  /** A topic prefix no other test of the file uses. */
  prefix: string;
}

export function testNames(label: string): TestNames {
  const suffix = randomUUID().slice(0, 8);
  return { suffix, groupId: `relengd-test-${label}-${suffix}`, deadLetter: `relengd-test-${label}-${suffix}.dead`, prefix: `test${suffix}.org.fedoraproject.prod` };
}

export interface Consuming {
  config: Config;
  store: Store;
  intake: Intake;
  transport: KafkaTransport;
  /** Stops the transport and closes the store. */
  close(): Promise<void>;
}

export interface ConsumingOptions {
  brokers: readonly string[];
  names: TestNames;
  dir: string;
  /** Bare topic patterns; subscribed with and without the prefix (when they exist on the cluster). */
  patterns: readonly string[];
  /** Extra Kafka topics (`bus.kafka.topics`). */
  topics?: readonly string[];
  /** YAML added to the config (e.g. `publishers:`). */
  extraConfig?: string;
  /** @default names.prefix */
  topicPrefix?: string;
  deliveryLimit?: number;
  /** Wraps `intake.accept`. */
  wrap?: (accept: DeliverBatch) => DeliverBatch;
  logger?: Logger;
  store?: Store;
}

export async function startConsuming(o: ConsumingOptions): Promise<Consuming> {
  const yaml = testConfigYaml(o.dir, o.extraConfig ?? '').replace(/^topicPrefix: .*$/m, `topicPrefix: ${o.topicPrefix ?? o.names.prefix}`);
  const config = parseConfig(yaml, {});
  const store = o.store ?? Store.open(join(o.dir, 'relengd.db'));
  const logger = o.logger ?? silentLogger();
  const intake = new Intake({ store: new SqliteStore(store), config, clock: systemClock, logger });
  const transport = new KafkaTransport({
    config: {
      ...config.bus.kafka,
      brokers: [...o.brokers],
      groupId: o.names.groupId,
      deadLetter: o.names.deadLetter,
      topics: [...(o.topics ?? [])],
      fromBeginning: true,
      deliveryLimit: o.deliveryLimit ?? config.bus.kafka.deliveryLimit,
    },
    topicPrefix: config.topicPrefix,
    patterns: o.patterns,
    logger,
    retry: testRetry,
    ackTimeoutMs: 10_000,
    sessionTimeoutMs: 10_000,
  });
  const accept: DeliverBatch = async (batch) => intake.accept(batch);
  await transport.start(o.wrap ? o.wrap(accept) : accept);
  return {
    config,
    store,
    intake,
    transport,
    close: async () => {
      await transport.stop();
      store.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the test's own client

export function testClient(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: 'relengd-test', brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50 } });
}

export async function testProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  await producer.connect();
  return producer;
}

/** A Fedora Messaging message bridged into Kafka: JSON value as Python dumps it, Fedora's headers. */
export interface BridgedMessage {
  topic: string;
  body: unknown;
  id?: string | undefined;
  headers?: Record<string, unknown> | undefined;
  sentAt?: string | undefined;
  key?: string | undefined;
}

export function bridgedRecord(m: BridgedMessage): Message {
  const headers: IHeaders = {
    fedora_messaging_schema: 'base.message',
    fedora_messaging_severity: '20',
    'sent-at': m.sentAt ?? '2019-06-07T16:49:58+00:00',
  };
  for (const [key, value] of Object.entries(m.headers ?? {})) {
    if (value !== undefined && value !== null) headers[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  if (m.id !== undefined) headers.message_id = m.id;
  return { key: m.key ?? null, value: Buffer.from(pythonJsonDumps(m.body), 'utf8'), headers };
}

/** Produces bridged messages, each on the Kafka topic named by its topic, acknowledged by all replicas. */
export async function produceBridged(producer: Producer, messages: readonly BridgedMessage[]): Promise<void> {
  const byTopic = new Map<string, Message[]>();
  for (const m of messages) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), bridgedRecord(m)]);
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
}

/** Bridged messages, one send each, with a record timestamp (and `sent-at`) of `at` (ms since the epoch): history to replay by time. */
export async function produceBridgedAt(producer: Producer, at: number, messages: readonly BridgedMessage[]): Promise<void> {
  const sentAt = new Date(at).toISOString();
  for (const m of messages) {
    await producer.send({ topic: m.topic, acks: -1, messages: [{ ...bridgedRecord({ ...m, sentAt }), timestamp: String(at) }] });
  }
}

export interface ReadRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/** Reads topics from the beginning in a group of its own; `records` fills as they arrive. */
export async function watchTopics(kafka: Kafka, topics: readonly string[]): Promise<{ records: ReadRecord[]; close(): Promise<void> }> {
  const consumer = kafka.consumer({ groupId: `relengd-test-watch-${randomUUID().slice(0, 8)}`, sessionTimeout: 10_000, maxWaitTimeInMs: 500, allowAutoTopicCreation: true });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  const records: ReadRecord[] = [];
  await consumer.run({ eachMessage: async ({ topic, partition, message }) => void records.push({ topic, partition, message }) });
  return { records, close: () => consumer.disconnect() };
}

/** The group's committed offset per partition of a topic (-1: none committed). */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((result?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** The end offset (high watermark) per partition of a topic. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** A header as text. */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/** Number of stored events. */
export function storedIds(store: Store): string[] {
  return (store.db.prepare('SELECT id FROM events ORDER BY seq').all() as Array<{ id: string }>).map((r) => r.id);
}
