/**
 * Kafka in the contract, on librdkafka's mock cluster (one per test file): producers send Fedora
 * Messaging bridged into Kafka (JSON value, `message_id`, Fedora's headers), relengd consumes in a
 * consumer group and publishes binary-mode CloudEvents with `acks: -1`.
 *
 * - Dead letters: the `deadLetter` topic, each copy with an `x-relengd-error` header naming the reason.
 * - Reconnect: a rebalance in the middle of a batch: a second relengd (a replica on the same
 *   store) joins the group while the first holds a stored but uncommitted batch. The mock answers
 *   INVALID_REQUEST to a member whose SyncGroup arrives after the leader's (Kafka would hand it
 *   its assignment); relengd restarts a consumer that crashes so (consumer.ts), so the replica's
 *   start, and the holder's rejoin, may take a restart or two.
 * - Publish confirms: the mock cannot be told to refuse a produce, so "not confirmed" is the
 *   cluster gone (stopped): no acknowledgement comes. It is the scenario's last step; nothing
 *   afterwards in the file uses this cluster.
 * - Replay by time: `readTopicsSince` (what `relengd replay --from-kafka --since` runs) over
 *   records whose timestamps are their send times.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { expect, vi } from 'vitest';
import { KafkaTransport, readTopicsSince } from '../../../src/bus/kafka/index.ts';
import { OutboxRelay } from '../../../src/bus/outbox-relay.ts';
import { systemClock } from '../../../src/clock.ts';
import { withPrefix } from '../../../src/events/topics.ts';
import { silentLogger, type Logger } from '../../../src/log.ts';
import { catchUp } from '../../../src/pipeline/catch-up.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { kafkaMissingReason, startMockCluster, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { bridgedRecord, headerText, produceBridged, produceBridgedAt, testClient, testProducer, watchTopics } from '../kafka/harness.ts';
import { contractRetry, type AttachOptions, type BusUnderTest, type ContractNames, type InboundMessage, type Relengd, type TransportAdapter } from './harness.ts';

export function kafkaAdapter(): TransportAdapter {
  let cluster: MockCluster | undefined;
  let kafka: Kafka | undefined;
  let producer: Producer | undefined;
  const up = () => {
    if (!cluster || !kafka || !producer) throw new TypeError('kafka adapter: setup() first');
    return { cluster, kafka, producer };
  };
  return {
    name: 'kafka (librdkafka mock cluster)',
    missing: kafkaMissingReason,
    async setup() {
      cluster = await startMockCluster();
      kafka = testClient(cluster.brokers);
      producer = await testProducer(kafka);
    },
    async teardown() {
      await producer?.disconnect().catch(() => undefined);
      await cluster?.stop();
    },
    busYaml: (names) => `bus: { transport: kafka, kafka: { brokers: ${JSON.stringify(up().cluster.brokers)}, groupId: ${names.consumer}, deadLetter: ${names.deadLetter}, fromBeginning: true } }`,
    attach: (o) => attach(o, up()),
    sendWhileDown: ({ messages }) => produce(up().producer, messages),
    async replaySince({ relengd, since }) {
      const logger = silentLogger();
      const read = { config: relengd.config.bus.kafka, since, patterns: ['bodhi.compose.complete'], topicPrefix: relengd.config.topicPrefix, logger, idleMs: 5_000 };
      const report = await catchUp((each) => readTopicsSince(read, each).then(() => undefined), { intake: relengd.intake, store: relengd.store, dispatcher: relengd.dispatcher });
      return report.committed + report.duplicate + report.rejected + report.dropped + report.failed;
    },
    cleanUp: async () => undefined,
  };
}

/**
 * Produces bridged Fedora Messaging messages; those with a `sent-at` are timestamped with it
 * (CreateTime, as the bridge that sent them would), which is what a read by time goes by.
 */
async function produce(producer: Producer, messages: readonly InboundMessage[]): Promise<void> {
  const untimed = messages.filter((m) => m.sentAt === undefined);
  if (untimed.length > 0) await produceBridged(producer, untimed);
  for (const [sentAt, timed] of Map.groupBy(messages.filter((m) => m.sentAt !== undefined), (m) => m.sentAt!)) await produceBridgedAt(producer, Date.parse(sentAt), timed);
}

interface Cluster {
  cluster: MockCluster;
  kafka: Kafka;
  producer: Producer;
}

async function attach(o: AttachOptions, { cluster, kafka, producer }: Cluster): Promise<BusUnderTest> {
  const { relengd, names } = o;
  // Topics exist before relengd subscribes (it subscribes to those it finds).
  const consumed = o.topics.map((t) => withPrefix(t, names.prefix));
  if (consumed.length > 0) await createTopics(kafka, consumed);
  const log = captureLogger('debug');
  let outbox: OutboxRelay | undefined;
  const transport = kafkaTransport(relengd, names, cluster, o.topics, log.logger, () => outbox?.schedule());
  outbox = new OutboxRelay({ store: relengd.store, transport, clock: systemClock, logger: silentLogger(), retry: contractRetry });

  await transport.start(relengd.accept);
  // Read from the beginning when first asked: nothing published before is missed, and a scenario that never asks waits for no group join.
  const readers = new Map<string, ReturnType<typeof watchTopics>>();
  const reader = (topics: readonly string[]) => {
    const key = topics.join(',');
    if (!readers.has(key)) readers.set(key, watchTopics(kafka, topics));
    return readers.get(key)!;
  };
  let replica: { transport: KafkaTransport; joined: Promise<void> } | undefined;

  return {
    transport,
    outbox,
    send: (messages) => produce(producer, messages),
    async sendUndecodable({ topic, id }) {
      await producer.send({ topic, acks: -1, messages: [{ ...bridgedRecord({ topic, id, body: {} }), value: Buffer.from('{"repo": ') }] });
    },
    deadLettered: async () =>
      (await reader([names.deadLetter])).records.map((r) => ({ id: headerText(r.message.headers, 'message_id'), reason: String((JSON.parse(headerText(r.message.headers, 'x-relengd-error') ?? '{}') as { reason?: unknown }).reason) })),
    published: async () => new Set((await reader((o.watch ?? []).map((t) => withPrefix(t, names.prefix)))).records.map((r) => headerText(r.message.headers, 'ce_id')!)),
    async interrupt() {
      // A replica joins the group: the coordinator asks every member to rejoin, the one holding a batch too.
      const second = kafkaTransport(relengd, names, cluster, o.topics, silentLogger(), () => undefined);
      replica = { transport: second, joined: second.start(relengd.accept) };
      replica.joined.catch(() => undefined);
      // The holder learns of the rebalance from its heartbeats (sent while it holds the batch).
      await vi.waitFor(() => expect(log.records.some((r) => r.msg === 'heartbeat failed')).toBe(true), { timeout: 30_000, interval: 20 });
    },
    async expectInterrupted() {
      // The rebalance completes once the holder, its batch let through, rejoins (it may have stored everything by then).
      await replica?.joined;
      expect(replica?.transport.isReady()).toBe(true);
      await vi.waitFor(() => expect(transport.stats().consumer.rejoins).toBeGreaterThan(0), { timeout: 30_000, interval: 20 });
    },
    async refusePublishing() {
      await cluster.stop();
    },
    async stop() {
      outbox.stop();
      if (replica) {
        await replica.joined.catch(() => undefined);
        await replica.transport.stop();
      }
      await transport.stop();
      for (const opened of readers.values()) await (await opened).close().catch(() => undefined);
    },
  };
}

/** relengd's Kafka transport as the daemon makes it, with quick retries and a short session (a rebalance waits for it). */
function kafkaTransport(relengd: Relengd, names: ContractNames, cluster: MockCluster, topics: readonly string[], logger: Logger, onReady: () => void): KafkaTransport {
  return new KafkaTransport({
    config: { ...relengd.config.bus.kafka, brokers: cluster.brokers },
    topicPrefix: names.prefix,
    patterns: topics,
    logger,
    retry: contractRetry,
    ackTimeoutMs: 5_000,
    sessionTimeoutMs: 10_000,
    onReady,
  });
}

/** Creates topics: the mock refuses kafkajs's CreateTopics (its controller id), but asking for a topic's metadata creates it. */
async function createTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const asker = kafka.consumer({ groupId: `relengd-contract-topics-${randomUUID().slice(0, 8)}`, allowAutoTopicCreation: true });
  await asker.connect();
  try {
    await asker.subscribe({ topics: [...topics] });
  } finally {
    await asker.disconnect();
  }
}
