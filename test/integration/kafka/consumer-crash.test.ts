/**
 * A consumer that crashes on an error kafkajs gives up on is restarted, not left dead (refused.test.ts:
 * what is not restarted). The errors are the mock cluster's own answers, pushed onto its request
 * error stack (`failRequests`), so each test provokes its crash exactly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import { KafkaApi, kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { produceBridged, startConsuming, storedIds, testClient, testNames, testProducer, type BridgedMessage, type Consuming, type TestNames } from './harness.ts';

/** Kafka error codes. */
const INVALID_REQUEST = 42;

describe.skipIf(kafkaMissingReason !== null)(titled('a Kafka consumer that crashes'), () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let producer: Producer;
  let consuming: Consuming | undefined;

  beforeAll(async () => {
    cluster = await startMockCluster();
    kafka = testClient(cluster.brokers);
    producer = await testProducer(kafka);
  });
  afterAll(async () => {
    await producer?.disconnect();
    await cluster?.stop();
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
  });

  const bodhi = (names: TestNames, n: number): BridgedMessage => ({ topic: `${names.prefix}.bodhi.compose.complete`, id: `push-${names.suffix}-${n}`, body: { repo: 'f26-updates', success: true, agent: 'bodhi', n } });

  /** The topic exists (relengd subscribes to the topics it finds) with one message on it. */
  async function topicWithOneMessage(names: TestNames): Promise<void> {
    await produceBridged(producer, [bodhi(names, 0)]);
  }

  it('joins after a SyncGroup answered with an error kafkajs does not retry (INVALID_REQUEST): start succeeds and it consumes', { timeout: 90_000 }, async () => {
    const names = testNames('crash-sync');
    await topicWithOneMessage(names);
    const log = captureLogger('debug');
    // The first SyncGroup of the group's first generation fails: kafkajs crashes and gives up.
    await cluster.failRequests(KafkaApi.syncGroup, [INVALID_REQUEST]);

    consuming = await startConsuming({ brokers: cluster.brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete'], logger: log.logger });
    const { transport, store } = consuming;
    expect(transport.isReady()).toBe(true);
    expect(transport.stats().consumer.restarts).toBe(1);
    const restarted = log.records.filter((r) => String(r.msg).startsWith('consumer crashed on an error kafkajs does not restart from'));
    expect(restarted.map((r) => (r.err as { code?: unknown }).code)).toEqual([INVALID_REQUEST]);

    await produceBridged(producer, [bodhi(names, 1)]);
    await vi.waitFor(() => expect(storedIds(store).sort()).toEqual([`push-${names.suffix}-0`, `push-${names.suffix}-1`]), { timeout: 30_000, interval: 50 });
  });

  it('restarts a consuming member whose heartbeat is answered with an error kafkajs does not retry, and goes on consuming', { timeout: 90_000 }, async () => {
    const names = testNames('crash-heartbeat');
    await topicWithOneMessage(names);
    consuming = await startConsuming({ brokers: cluster.brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete'] });
    const { transport, store } = consuming;
    await vi.waitFor(() => expect(storedIds(store)).toEqual([`push-${names.suffix}-0`]), { timeout: 30_000, interval: 50 });

    await cluster.failRequests(KafkaApi.heartbeat, [INVALID_REQUEST]);
    await vi.waitFor(() => expect(transport.stats().consumer).toMatchObject({ restarts: 1, rejoins: 1 }), { timeout: 60_000, interval: 50 });
    expect(transport.isReady()).toBe(true);

    await produceBridged(producer, [bodhi(names, 1)]);
    await vi.waitFor(() => expect(storedIds(store).sort()).toEqual([`push-${names.suffix}-0`, `push-${names.suffix}-1`]), { timeout: 30_000, interval: 50 });
  });
});
