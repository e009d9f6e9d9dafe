/**
 * The core scenario against a real Kafka broker (testcontainers' KafkaContainer, KRaft) where a
 * Docker engine exists: consume -> store once -> commit, dead-letter with the reason, publish
 * acknowledged, and replay by time through the broker's own time index (which librdkafka's mock
 * cluster lacks). Same harness as the mock-cluster tests, given the container's broker.
 *
 * Without a Docker engine these tests skip and print why, under CI=true too (the issue allows it:
 * the mock-cluster tests are the ones CI must run).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import type { StartedKafkaContainer } from '@testcontainers/kafka';
import { readTopicsSince } from '../../../src/bus/kafka/index.ts';
import type { PublishItem } from '../../../src/bus/transport.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import type { Delivery } from '../../../src/pipeline/intake.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { tempDir } from '../../helpers/tmp.ts';
import {
  committedOffsets, endOffsets, headerText, produceBridged, produceBridgedAt, startConsuming, storedIds, testClient, testNames, testProducer, watchTopics,
  type BridgedMessage, type Consuming, type TestNames,
} from './harness.ts';

/** Confluent's image, as KafkaContainer expects; KRaft, no ZooKeeper. */
const KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.0';
/** The port KafkaContainer maps for clients outside Docker. */
const KAFKA_CLIENT_PORT = 9093;
/** How long finding a container runtime may take before it counts as absent (a socket that never answers). */
const RUNTIME_PROBE_MS = 20_000;

/** Null when a Docker engine answers, else why not. Never hangs: the probe has a deadline. */
async function dockerMissing(): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${RUNTIME_PROBE_MS / 1000} s (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'unset'})`)), RUNTIME_PROBE_MS);
    });
    await Promise.race([getContainerRuntimeClient(), deadline]);
    return null;
  } catch (error) {
    return `no Docker engine: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

const dockerMissingReason = await dockerMissing();
if (dockerMissingReason !== null) console.warn(`skipping the real-Kafka tests: ${dockerMissingReason}`);

const MINUTE = 60_000;

const title = 'against a real Kafka broker (testcontainers)';

describe.skipIf(dockerMissingReason !== null)(dockerMissingReason === null ? title : `${title} (skipped: ${dockerMissingReason})`, () => {
  let container: StartedKafkaContainer | undefined;
  let brokers: string[];
  let kafka: Kafka;
  let producer: Producer;
  let names: TestNames;
  let consuming: Consuming | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    container = await new KafkaContainer(KAFKA_IMAGE).withKraft().start();
    brokers = [`${container.getHost()}:${container.getMappedPort(KAFKA_CLIENT_PORT)}`];
    kafka = testClient(brokers);
    producer = await testProducer(kafka);
  }, 300_000);
  afterAll(async () => {
    await producer?.disconnect();
    await container?.stop();
  });
  beforeEach(() => {
    names = testNames('real');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    for (const close of closers.splice(0)) await close();
  });

  const bodhi = (n: number): BridgedMessage => ({ topic: `${names.prefix}.bodhi.compose.complete`, id: `push-${names.suffix}-${n}`, body: { repo: 'f26-updates', success: true, n } });

  async function createTopic(topic: string): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  it('stores every record once, dead-letters a malformed one with its reason, commits after the store, and publishes acknowledged', { timeout: 120_000 }, async () => {
    const topic = bodhi(0).topic;
    await createTopic(topic);
    const messages = [0, 1, 2, 3, 4].map(bodhi);
    // The first copy before relengd joins, the second while it consumes (redelivery: duplicates).
    await produceBridged(producer, messages);
    consuming = await startConsuming({ brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete'] });
    await produceBridged(producer, messages);
    await producer.send({ topic, acks: -1, messages: [{ value: Buffer.from('not json'), headers: { 'content-type': 'application/json' } }] });

    const transport = consuming.transport;
    await vi.waitFor(() => expect(transport.stats().consumer.resolved).toBe(2 * messages.length + 1), { timeout: 60_000, interval: 100 });
    expect(storedIds(consuming.store).sort()).toEqual(messages.map((m) => m.id!).sort());
    expect(transport.stats().consumer).toMatchObject({ committed: 5, duplicate: 5, rejected: 1, deadLettered: 1 });

    const dead = await watchTopics(kafka, [names.deadLetter]);
    closers.push(() => dead.close());
    await vi.waitFor(() => expect(dead.records).toHaveLength(1), { timeout: 30_000, interval: 100 });
    expect(JSON.parse(headerText(dead.records[0]!.message.headers, 'x-relengd-error')!)).toMatchObject({ reason: 'not-json', topic });

    const ends = await endOffsets(kafka, topic);
    await vi.waitFor(async () => expect(await committedOffsets(kafka, names.groupId, topic)).toEqual(new Map([...ends].map(([p, end]) => [p, end === 0 ? -1 : end]))), { timeout: 30_000, interval: 200 });

    const finished = `${names.prefix}.kafkatest.finished`; // outside the catalogue: any data goes
    await createTopic(finished);
    const envelope = makeEnvelope(
      { topic: finished, id: `${names.suffix}-out`, subject: 'fedora/26/x86_64/updates/atomic-host', time: '2026-03-01T10:00:00Z', data: { n: 1 } },
      { prefix: names.prefix, receivedAt: '2026-03-01T10:00:00Z' },
    );
    const items: PublishItem[] = [{ envelope, routingKey: finished }];
    expect(await transport.publish(items)).toEqual([{ ok: true }]);
    const out = await watchTopics(kafka, [finished]);
    closers.push(() => out.close());
    await vi.waitFor(() => expect(out.records).toHaveLength(1), { timeout: 30_000, interval: 100 });
    const record = out.records[0]!.message;
    expect(record.key?.toString()).toBe(envelope.subject);
    expect(headerText(record.headers, 'ce_id')).toBe(envelope.id);
    expect(JSON.parse(record.value!.toString())).toEqual({ n: 1 });
  });

  it('replays by time with the broker\'s time index: only the records from --since, the live group untouched', { timeout: 120_000 }, async () => {
    const topic = bodhi(0).topic;
    await createTopic(topic);
    const now = Date.now();
    await produceBridgedAt(producer, now - 60 * MINUTE, [0, 1, 2].map(bodhi));
    await produceBridgedAt(producer, now - MINUTE, [3, 4].map(bodhi));

    const { logger, records: logs } = captureLogger('warn');
    const config = { ...parseConfig('', {}).bus.kafka, brokers, groupId: names.groupId, topics: [topic] };
    const handed: Delivery[] = [];
    const result = await readTopicsSince({ config, since: new Date(now - 10 * MINUTE).toISOString(), logger }, async (batch) => void handed.push(...batch));
    expect(handed.map((d) => (d.decoded instanceof Error ? d.decoded.message : d.decoded.id)).sort()).toEqual([`push-${names.suffix}-3`, `push-${names.suffix}-4`]);
    // Found by the time index: nothing before --since was even read.
    expect(result).toEqual({ read: 2, handed: 2 });
    expect(logs.map((l) => l.msg)).not.toContain('the cluster does not look offsets up by time: reading from the start of each partition, skipping records before --since');
    expect([...(await committedOffsets(kafka, names.groupId, topic)).values()].every((offset) => offset < 0)).toBe(true);
  });
});
