/**
 * Consuming from Kafka (librdkafka's mock cluster, 3 brokers): every record stored once, bad ones
 * dead-lettered with their reason, offsets committed only after the store committed.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import type { DeliverBatch } from '../../../src/bus/transport.ts';
import { idOfIdLessMessage } from '../../../src/events/ids.ts';
import { splitTopic } from '../../../src/events/topics.ts';
import { GATING_TOPICS } from '../../../src/trust.ts';
import { fixturesMissingReason, fixturesPresent, loadFixtures } from '../../helpers/fixtures.ts';
import { kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { tempDir } from '../../helpers/tmp.ts';
import {
  bridgedRecord, committedOffsets, endOffsets, headerText, produceBridged, startConsuming, storedIds, testClient, testNames, testProducer, watchTopics,
  type BridgedMessage, type Consuming, type TestNames,
} from './harness.ts';

describe.skipIf(kafkaMissingReason !== null)(titled('consuming from Kafka'), () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let producer: Producer;
  let names: TestNames;
  let consuming: Consuming | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    cluster = await startMockCluster();
    kafka = testClient(cluster.brokers);
    producer = await testProducer(kafka);
  });
  afterAll(async () => {
    await producer?.disconnect();
    await cluster?.stop();
  });
  beforeEach(() => {
    names = testNames('consume');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    for (const close of closers.splice(0)) await close();
  });

  const bodhi = (n: number): BridgedMessage => ({ topic: `${names.prefix}.bodhi.compose.complete`, id: `push-${names.suffix}-${n}`, body: { repo: 'f26-updates', success: true, agent: 'bodhi', n } });

  async function watch(topic: string) {
    const watcher = await watchTopics(kafka, [topic]);
    closers.push(() => watcher.close());
    return watcher.records;
  }

  describe.skipIf(!fixturesPresent)(titled('Fedora fixtures bridged into Kafka', fixturesPresent ? null : fixturesMissingReason), () => {
    it('stores every fixture once (the second copy is a duplicate); gating facts are refused and dead-lettered: Kafka carries no identity', { timeout: 60_000 }, async () => {
      const fixtures = loadFixtures();
      const gating = GATING_TOPICS;
      const isGating = (topic: string) => gating.has(splitTopic(topic, 'org.fedoraproject.prod').name);
      const messages: BridgedMessage[] = fixtures.map((f) => {
        const ts = f.fedmsg_envelope?.timestamp;
        return { topic: f.topic, body: f.body, id: f.id, headers: f.headers, sentAt: typeof ts === 'number' ? new Date(ts * 1000).toISOString().replace(/\.\d+Z$/, '+00:00') : undefined };
      });
      const topics = [...new Set(fixtures.map((f) => f.topic))];
      // The first copy before relengd joins (the topics come into being), the second while it consumes.
      await produceBridged(producer, messages);
      // Even a configured publisher cannot be matched: no identity comes with a Kafka record.
      const extraConfig = 'publishers:\n  greenwave.decision.update: [greenwave]\n  resultsdb.result.new: [resultsdb]\n';
      consuming = await startConsuming({ brokers: cluster.brokers, names, dir: tempDir(), patterns: [], topics, topicPrefix: 'org.fedoraproject.prod', extraConfig });
      await produceBridged(producer, messages);
      const transport = consuming.transport;
      await vi.waitFor(() => expect(transport.stats().consumer.resolved).toBe(2 * messages.length), { timeout: 30_000, interval: 50 });

      const store = consuming.store;
      // Ids are the inbox key: fixtures that share an id (three 2015 pungi captures do) are one
      // event, filed under whichever of them arrived first (they are on different topics, so partitions).
      const byId = new Map<string, BridgedMessage[]>();
      for (const m of messages) {
        if (isGating(m.topic)) continue;
        const id = m.id ?? idOfIdLessMessage(m.topic, m.body);
        byId.set(id, [...(byId.get(id) ?? []), m]);
      }
      for (const [id, candidates] of byId) {
        const rows = store.db.prepare('SELECT topic, prefix, transport FROM events WHERE id = ?').all(id) as Array<{ topic: string; prefix: string; transport: string }>;
        expect(rows, `${candidates[0]!.topic} ${id}`).toHaveLength(1);
        const row = rows[0]!;
        const first = candidates.find((m) => splitTopic(m.topic, 'org.fedoraproject.prod').name === row.topic)!;
        expect(first, `${id} stored under ${row.topic}`).toBeDefined();
        expect(row).toEqual({ topic: row.topic, prefix: splitTopic(first.topic, 'org.fedoraproject.prod').prefix, transport: 'kafka' });
        // The value is kept byte for byte, and its data is the body as produced.
        expect(Buffer.from(store.events.raw(id)!).equals(bridgedRecord(first).value as Buffer), `${first.topic} raw bytes`).toBe(true);
        expect(store.events.get(id)?.envelope.data).toEqual(first.body);
      }
      expect(storedIds(store)).toHaveLength(byId.size);

      const gatingCount = messages.filter((m) => isGating(m.topic)).length;
      expect(gatingCount).toBeGreaterThan(0);
      const rejected = store.db.prepare("SELECT reason, publisher, detail FROM rejected WHERE transport = 'kafka'").all() as Array<{ reason: string; publisher: string | null; detail: string }>;
      expect(rejected).toHaveLength(2 * gatingCount);
      for (const r of rejected) {
        expect(r.reason).toBe('unauthorized');
        expect(r.publisher).toBeNull();
        expect(r.detail).toContain('(not authenticated)');
      }
      const stats = transport.stats().consumer;
      expect(stats).toMatchObject({ committed: byId.size, rejected: 2 * gatingCount, deadLettered: 2 * gatingCount, retryLater: 0 });
      expect(stats.duplicate).toBe(2 * messages.length - byId.size - 2 * gatingCount);
      const dead = await watch(names.deadLetter);
      await vi.waitFor(() => expect(dead).toHaveLength(2 * gatingCount), { timeout: 15_000, interval: 50 });
      expect(dead.every((r) => JSON.parse(headerText(r.message.headers, 'x-relengd-error')!).reason === 'unauthorized')).toBe(true);
    });
  });

  it('dead-letters malformed records with their reason, stores the rest, and commits past all of them', { timeout: 40_000 }, async () => {
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const good = [bodhi(1), bodhi(2), bodhi(3)];
    // One partition: the bad records sit between the good ones, in this order.
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { ...bridgedRecord(good[0]!), key: 'k' },
        { key: 'k', value: Buffer.from('{"repo": "f26-updates", '), headers: { message_id: 'broken-json' } },
        { ...bridgedRecord(good[1]!), key: 'k' },
        { key: 'k', value: Buffer.from('<xml/>'), headers: { 'content-type': 'application/xml', message_id: 'xml' } },
        { key: 'k', value: Buffer.from(JSON.stringify({ repo: 7 })), headers: { message_id: 'wrong-schema' } },
        { key: 'k', value: null, headers: { message_id: 'tombstone' } },
        { ...bridgedRecord(good[2]!), key: 'k' },
      ],
    });
    const dead = await watch(names.deadLetter);
    consuming = await startConsuming({ brokers: cluster.brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete'] });
    const transport = consuming.transport;
    await vi.waitFor(() => expect(transport.stats().consumer.resolved).toBe(7), { timeout: 20_000, interval: 50 });

    expect(storedIds(consuming.store)).toEqual(good.map((m) => m.id));
    const rejected = consuming.store.db.prepare('SELECT message_id AS id, reason, field FROM rejected ORDER BY seq').all() as Array<Record<string, unknown>>;
    // Undecodable records are kept under the id their headers name.
    expect(rejected).toEqual([
      { id: 'broken-json', reason: 'not-json', field: null },
      { id: 'xml', reason: 'media-type', field: 'content-type' },
      { id: 'wrong-schema', reason: 'schema', field: expect.stringContaining('repo') },
      { id: 'tombstone', reason: 'not-json', field: null },
    ]);
    await vi.waitFor(() => expect(dead).toHaveLength(4), { timeout: 15_000, interval: 50 });
    const why = dead.map((r) => ({ id: headerText(r.message.headers, 'message_id'), error: JSON.parse(headerText(r.message.headers, 'x-relengd-error')!) as Record<string, unknown> }));
    expect(why.map((w) => [w.id, w.error.reason])).toEqual([['broken-json', 'not-json'], ['xml', 'media-type'], ['wrong-schema', 'schema'], ['tombstone', 'not-json']]);
    expect(why[1]!.error).toMatchObject({ topic, partition: dead[1]!.partition, offset: '3', detail: expect.stringContaining('application/xml') });
    // The copy is the original record: same key, same value, its headers.
    expect(dead[1]!.message.key?.toString()).toBe('k');
    expect(dead[1]!.message.value?.toString()).toBe('<xml/>');
    expect(headerText(dead[1]!.message.headers, 'content-type')).toBe('application/xml');
    expect(dead[3]!.message.value).toBeNull();

    const ends = await endOffsets(kafka, topic);
    await vi.waitFor(async () => expect(await committedOffsets(kafka, names.groupId, topic)).toEqual(new Map([...ends].map(([p, end]) => [p, end === 0 ? -1 : end]))), { timeout: 10_000, interval: 100 });
  });

  it('commits offsets only after the store committed: a failed deliver commits nothing, and the records come back and are stored once', { timeout: 40_000 }, async () => {
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const messages = [1, 2, 3, 4, 5, 6].map(bodhi);
    await produceBridged(producer, messages.map((m) => ({ ...m, key: 'one-partition' })));
    let calls = 0;
    const committedAtRetry: Array<Map<number, number>> = [];
    const wrap = (accept: DeliverBatch): DeliverBatch => async (batch) => {
      calls++;
      if (calls === 1) throw new Error('store unavailable (test)');
      if (calls === 2) committedAtRetry.push(await committedOffsets(kafka, names.groupId, topic));
      return accept(batch);
    };
    consuming = await startConsuming({ brokers: cluster.brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete'], wrap });
    const transport = consuming.transport;
    await vi.waitFor(() => expect(transport.stats().consumer.committed).toBe(6), { timeout: 20_000, interval: 50 });

    // When the batch came back, nothing had been committed for it.
    expect(committedAtRetry).toHaveLength(1);
    expect([...committedAtRetry[0]!.values()].every((offset) => offset === -1)).toBe(true);
    expect(storedIds(consuming.store)).toEqual(messages.map((m) => m.id));
    expect(transport.stats().consumer).toMatchObject({ retryLater: 1, refetches: 1, committed: 6, duplicate: 0, rejected: 0 });
    const partition = [...(await endOffsets(kafka, topic))].find(([, end]) => end > 0)![0];
    await vi.waitFor(async () => expect((await committedOffsets(kafka, names.groupId, topic)).get(partition)).toBe(6), { timeout: 10_000, interval: 100 });
  });

  it('never commits past a record that is not stored: what follows it comes back (as duplicates) until it is; a record that keeps failing is dead-lettered as poison', { timeout: 40_000 }, async () => {
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const messages = [1, 2, 3, 4].map(bodhi);
    await produceBridged(producer, messages.map((m) => ({ ...m, key: 'one-partition' })));
    const poisonId = messages[1]!.id!;
    const seenCommitted: number[] = [];
    const wrap = (accept: DeliverBatch): DeliverBatch => async (batch) => {
      const offsets = await committedOffsets(kafka, names.groupId, topic);
      seenCommitted.push(Math.max(...offsets.values()));
      const outcomes = await accept(batch.filter((d) => d.decoded instanceof Error || d.decoded.id !== poisonId));
      // The poison record fails the way a store error would; the others pass through.
      return batch.map((d) => (!(d.decoded instanceof Error) && d.decoded.id === poisonId ? { kind: 'retry-later' as const, error: new Error('cannot store this one (test)') } : outcomes.shift()!));
    };
    const dead = await watch(names.deadLetter);
    consuming = await startConsuming({ brokers: cluster.brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete'], deliveryLimit: 3, wrap });
    const transport = consuming.transport;
    await vi.waitFor(() => expect(transport.stats().consumer.poison).toBe(1), { timeout: 20_000, interval: 50 });
    await vi.waitFor(() => expect(transport.stats().consumer.resolved).toBe(4), { timeout: 20_000, interval: 50 });

    // Offset 1 (the poison) held the commit at 1 until it was dead-lettered.
    expect(seenCommitted.slice(0, 3)).toEqual([-1, 1, 1]);
    expect(storedIds(consuming.store)).toEqual([messages[0]!.id, messages[2]!.id, messages[3]!.id]);
    const stats = transport.stats().consumer;
    // Outcomes count when a record is settled: records 3 and 4 were stored with the first batch but
    // settled (as duplicates) only once the poison before them was dead-lettered.
    expect(stats).toMatchObject({ committed: 1, duplicate: 2, poison: 1, deadLettered: 1, retryLater: 3, refetches: 2 });
    await vi.waitFor(() => expect(dead).toHaveLength(1), { timeout: 15_000, interval: 50 });
    expect(JSON.parse(headerText(dead[0]!.message.headers, 'x-relengd-error')!)).toMatchObject({ reason: 'poison', 'delivery-count': 3, offset: '1', detail: expect.stringContaining('cannot store this one') });
    // Kept with the record's headers and coordinates (the wire's message_id among them).
    const poison = consuming.store.db.prepare("SELECT headers FROM rejected WHERE reason = 'poison'").all() as Array<{ headers: string }>;
    expect(poison).toHaveLength(1);
    expect(JSON.parse(poison[0]!.headers)).toMatchObject({ message_id: poisonId, 'kafka.topic': topic, 'kafka.offset': '1' });
  });

  it('takes CloudEvents in binary and structured mode; a command is refused over Kafka even when a publisher is allowed to send it', { timeout: 40_000 }, async () => {
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const approve = `${names.prefix}.relengd.release.approve`;
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: 'f26-updates',
          value: JSON.stringify({ repo: 'f26-updates', success: true }),
          headers: { ce_specversion: '1.0', ce_id: `binary-${names.suffix}`, ce_type: 'org.fedoraproject.prod.bodhi.compose.complete', ce_source: '/bodhi', ce_time: '2026-01-02T03:04:05Z', ce_subject: 'f26-updates', 'content-type': 'application/json' },
        },
        {
          value: JSON.stringify({ specversion: '1.0', id: `structured-${names.suffix}`, type: 'bodhi.compose.complete', source: '/bodhi', time: '2026-01-02T03:04:06Z', datacontenttype: 'application/json', data: { repo: 'f26-updates', success: true } }),
          headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
        },
      ],
    });
    await producer.send({ topic: approve, acks: -1, messages: [{ value: JSON.stringify({ group: 'f26-atomic-host', version: '26.1' }), headers: { ce_specversion: '1.0', ce_id: `approve-${names.suffix}`, ce_type: 'org.relengd.release.approve', ce_source: '/releng' } }] });
    consuming = await startConsuming({
      brokers: cluster.brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete', 'relengd.release.approve'],
      extraConfig: 'publishers:\n  relengd.release.approve: [releng]\n',
    });
    const transport = consuming.transport;
    expect(transport.stats().topics.subscribed).toEqual([approve, topic].sort());
    await vi.waitFor(() => expect(transport.stats().consumer.resolved).toBe(3), { timeout: 20_000, interval: 50 });

    const store = consuming.store;
    expect(store.events.get(`binary-${names.suffix}`)?.envelope).toMatchObject({ topic: 'bodhi.compose.complete', prefix: names.prefix, subject: 'f26-updates', time: '2026-01-02T03:04:05.000Z', source: '/bodhi' });
    expect(store.events.get(`structured-${names.suffix}`)?.envelope).toMatchObject({ topic: 'bodhi.compose.complete', prefix: names.prefix, time: '2026-01-02T03:04:06.000Z', data: { repo: 'f26-updates', success: true } });
    expect(store.events.get(`approve-${names.suffix}`)).toBeUndefined();
    expect(store.db.prepare('SELECT message_id, reason FROM rejected').all()).toEqual([{ message_id: `approve-${names.suffix}`, reason: 'unauthorized' }]);
    expect(transport.stats().consumer).toMatchObject({ committed: 2, rejected: 1, deadLettered: 1 });
  });
});
