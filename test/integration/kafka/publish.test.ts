/**
 * Publishing on Kafka (librdkafka's mock cluster): binary-mode CloudEvents, key = subject, one
 * subject's events on one partition in the order published; a result per item.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Kafka } from 'kafkajs';
import { KafkaTransport } from '../../../src/bus/kafka/index.ts';
import type { PublishItem } from '../../../src/bus/transport.ts';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import { silentLogger } from '../../../src/log.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { headerText, testClient, testNames, testRetry, watchTopics } from './harness.ts';

describe.skipIf(kafkaMissingReason !== null)(titled('publishing on Kafka'), () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let transport: KafkaTransport | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    cluster = await startMockCluster();
    kafka = testClient(cluster.brokers);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await transport?.stop();
    transport = undefined;
    for (const close of closers.splice(0)) await close();
  });

  it('publishes each event on the topic of its routing key, ce_* headers, the data as value, keyed and ordered by subject', { timeout: 40_000 }, async () => {
    const names = testNames('publish');
    const requested = `${names.prefix}.kafkatest.requested`; // topics outside the catalogue: any data goes
    const finished = `${names.prefix}.kafkatest.finished`;
    const config = parseConfig('', {}).bus.kafka;
    transport = new KafkaTransport({
      config: { ...config, brokers: cluster.brokers, groupId: names.groupId, deadLetter: names.deadLetter },
      topicPrefix: names.prefix,
      // Nothing to consume on this cluster: the transport publishes only, and is ready for it.
      patterns: [],
      logger: silentLogger(),
      retry: testRetry,
      ackTimeoutMs: 10_000,
    });
    await transport.start(async (batch) => batch.map(() => ({ kind: 'retry-later', error: new Error('nothing is consumed here') })));
    expect(transport.isReady()).toBe(true);

    const envelope = (topic: string, n: number, subject: string | undefined) =>
      makeEnvelope(
        { topic, id: `${names.suffix}-${n}`, subject, correlationid: `cause-${names.suffix}`, causationid: `cause-${names.suffix}`, time: `2026-03-01T10:00:0${n}Z`, data: { stream: subject ?? 'none', n } },
        { prefix: names.prefix, receivedAt: '2026-03-01T10:00:00Z' },
      );
    const items: PublishItem[] = [
      ...[0, 1, 2, 3, 4].map((n) => ({ envelope: envelope(requested, n, n % 2 === 0 ? 'fedora/26/x86_64/updates/atomic-host' : 'fedora/26/aarch64/updates/atomic-host'), routingKey: requested })),
      { envelope: envelope(finished, 5, undefined), routingKey: finished },
    ];
    const results = await transport.publish(items);
    expect(results).toEqual(items.map(() => ({ ok: true })));
    expect(transport.stats().publisher).toEqual({ published: 6, acknowledged: 6, failed: 0 });

    const watcher = await watchTopics(kafka, [requested, finished]);
    closers.push(() => watcher.close());
    await vi.waitFor(() => expect(watcher.records).toHaveLength(6), { timeout: 20_000, interval: 50 });

    const byId = new Map(watcher.records.map((r) => [headerText(r.message.headers, 'ce_id')!, r]));
    for (const item of items) {
      const record = byId.get(item.envelope.id)!;
      expect(record.topic).toBe(item.routingKey);
      expect(JSON.parse(record.message.value!.toString())).toEqual(item.envelope.data);
      expect(record.message.key?.toString() ?? null).toBe(item.envelope.subject ?? null);
      expect(record.message.timestamp).toBe(String(Date.parse(item.envelope.time)));
      expect(headerText(record.message.headers, 'ce_type')).toBe(item.envelope.type);
      expect(headerText(record.message.headers, 'ce_time')).toBe(item.envelope.time);
      expect(headerText(record.message.headers, 'ce_subject')).toBe(item.envelope.subject);
      expect(headerText(record.message.headers, 'content-type')).toBe('application/json');
    }
    // One subject, one partition, in the order published.
    for (const subject of ['fedora/26/x86_64/updates/atomic-host', 'fedora/26/aarch64/updates/atomic-host']) {
      const records = watcher.records.filter((r) => r.message.key?.toString() === subject);
      expect(new Set(records.map((r) => r.partition)).size).toBe(1);
      const ids = records.sort((a, b) => Number(a.message.offset) - Number(b.message.offset)).map((r) => headerText(r.message.headers, 'ce_id'));
      expect(ids).toEqual(items.filter((i) => i.envelope.subject === subject).map((i) => i.envelope.id));
    }
  });

  it('answers each item failed when the cluster is gone (the outbox keeps it pending and tries again)', { timeout: 60_000 }, async () => {
    const names = testNames('publish-down');
    const own = await startMockCluster({ brokers: 1 });
    const topic = `${names.prefix}.kafkatest.finished`;
    transport = new KafkaTransport({
      config: { ...parseConfig('', {}).bus.kafka, brokers: own.brokers, groupId: names.groupId, deadLetter: names.deadLetter },
      topicPrefix: names.prefix,
      patterns: [],
      logger: silentLogger(),
      retry: { ...testRetry, maxMs: 50 },
      ackTimeoutMs: 2_000,
    });
    await transport.start(async (batch) => batch.map(() => ({ kind: 'retry-later', error: new Error('unused') })));
    const item: PublishItem = { envelope: makeEnvelope({ topic, id: `${names.suffix}-gone`, data: {} }, { prefix: names.prefix, receivedAt: '2026-03-01T10:00:00Z' }), routingKey: topic };
    expect(await transport.publish([item])).toEqual([{ ok: true }]);
    await own.stop();
    const [result] = await transport.publish([item]);
    expect(result).toMatchObject({ ok: false, error: expect.objectContaining({ name: 'KafkaPublishError', topic }) });
    expect(transport.stats().publisher.failed).toBe(1);
  });
});
