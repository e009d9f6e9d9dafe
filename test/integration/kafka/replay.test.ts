/**
 * Replay from Kafka by time (librdkafka's mock cluster): `readTopicsSince` reads each partition from
 * a point in time up to where it ended when the read started, and `relengd replay --from-kafka
 * --since T` catches up through the inbox and the listeners, with a dry run that changes nothing.
 *
 * The mock cluster answers no offset for every timestamp (it has no lookup by time), so these tests
 * go through the reader's fallback: each partition from its start, records before --since skipped
 * by their timestamps. The lookup itself is exercised against a real Kafka (real-broker.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import { readTopicsSince } from '../../../src/bus/kafka/index.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { silentLogger } from '../../../src/log.ts';
import type { Delivery } from '../../../src/pipeline/intake.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { committedOffsets, produceBridgedAt, testClient, testNames, testProducer, type BridgedMessage, type TestNames } from './harness.ts';

const MINUTE = 60_000;

function idsOf(deliveries: readonly Delivery[]): string[] {
  return deliveries.map((d) => (d.decoded instanceof Error ? `rejected: ${d.decoded.message}` : d.decoded.id!));
}

describe.skipIf(kafkaMissingReason !== null)(titled('replay from Kafka by time'), () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let producer: Producer;
  let names: TestNames;

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
    names = testNames('replay');
  });

  const bodhi = (n: number, key?: string): BridgedMessage => ({ topic: `${names.prefix}.bodhi.compose.complete`, id: `push-${names.suffix}-${n}`, key, body: { repo: 'f26-updates', success: true, n } });

  it('hands over the records from --since up to --until in each partition\'s order, marked replayed, and ends at the end it saw when it started', { timeout: 60_000 }, async () => {
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const now = Date.now();
    // Keys spread the records over the partitions; one key's records share one.
    await produceBridgedAt(producer, now - 50 * MINUTE, [bodhi(0, 'a'), bodhi(1, 'b')]);
    await produceBridgedAt(producer, now - 30 * MINUTE, [bodhi(2, 'a'), bodhi(3, 'b'), bodhi(4, 'a')]);
    await produceBridgedAt(producer, now - 10 * MINUTE, [bodhi(5, 'c'), bodhi(6, 'a')]);
    const config = { ...parseConfig('', {}).bus.kafka, brokers: cluster.brokers, groupId: names.groupId, topics: [topic] };
    const read = async (window: { since: number; until?: number }, onFirst?: () => Promise<void>) => {
      const batches: Delivery[][] = [];
      const result = await readTopicsSince(
        { config, since: new Date(window.since).toISOString(), until: window.until === undefined ? undefined : new Date(window.until).toISOString(), logger: silentLogger() },
        async (batch) => {
          if (batches.length === 0) await onFirst?.();
          batches.push(batch);
        },
      );
      return { result, deliveries: batches.flat() };
    };

    const middle = await read({ since: now - 40 * MINUTE, until: now - 20 * MINUTE });
    expect(idsOf(middle.deliveries).sort()).toEqual([2, 3, 4].map((n) => `push-${names.suffix}-${n}`));
    expect(middle.result.handed).toBe(3);
    expect(middle.deliveries.every((d) => d.source === 'replayed' && d.transport === 'kafka')).toBe(true);
    // One partition's records in offset order: key a's come as produced.
    expect(idsOf(middle.deliveries.filter((d) => d.headers['kafka.key'] === 'a'))).toEqual([`push-${names.suffix}-2`, `push-${names.suffix}-4`]);

    // Records produced while the read is under way are past its end: it ends without them.
    const late = [bodhi(7, 'a'), bodhi(8, 'b')];
    const open = await read({ since: now - 40 * MINUTE }, () => produceBridgedAt(producer, Date.now(), late));
    expect(idsOf(open.deliveries).sort()).toEqual([2, 3, 4, 5, 6].map((n) => `push-${names.suffix}-${n}`));

    // The live group was never used: no offsets committed under it.
    expect([...(await committedOffsets(kafka, names.groupId, topic)).values()].every((offset) => offset < 0)).toBe(true);
  });

  it('relengd replay --from-kafka --since: the dry run changes nothing, the run stores only what came after --since and catches up through the listeners, a second run finds it all seen', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const now = Date.now();
    const gating: BridgedMessage = { topic: `${names.prefix}.greenwave.decision.update`, id: `gw-${names.suffix}`, body: { policies_satisfied: true, decision_context: 'atomic_two_week' } };
    const command: BridgedMessage = { topic: `${names.prefix}.relengd.release.approve`, id: `approve-${names.suffix}`, body: { group: 'f26-atomic-host', version: '26.1' } };
    await produceBridgedAt(producer, now - 60 * MINUTE, [bodhi(0), bodhi(1), bodhi(2)]);
    // After --since: two Bodhi messages, and two that Kafka cannot vouch for (a gating fact, a command).
    await produceBridgedAt(producer, now - MINUTE, [bodhi(3), gating, command, bodhi(4)]);

    const configFile = join(dir, 'relengd.yaml');
    const kafkaYaml = `bus: { transport: kafka, kafka: { brokers: ${JSON.stringify(cluster.brokers)}, groupId: ${names.groupId}, deadLetter: ${names.deadLetter} } }`;
    // A rule naming who may approve: even so, a command is never taken from recorded history.
    const yaml = testConfigYaml(dir, `${kafkaYaml}\npublishers:\n  relengd.release.approve: [alice]\n`).replace(/^topicPrefix: .*$/m, `topicPrefix: ${names.prefix}`);
    writeFileSync(configFile, yaml);
    const replay = (...extra: string[]) => runCli(['--config', configFile, 'replay', '--from-kafka', '--since', '10m', ...extra]);
    const counts = () => {
      const store = Store.open(join(dir, 'relengd.db'));
      try {
        return { events: store.events.count(), rejected: store.rejected.count(), jobs: store.db.prepare('SELECT count(*) AS n FROM jobs').get() };
      } finally {
        store.close();
      }
    };

    const dry = await replay('--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: would process 2 new message\(s\); 0 already seen, 2 rejected, .*; \d+ event\(s\) emitted, [1-9]\d* job\(s\) enqueued$/m);
    expect(counts()).toEqual({ events: 0, rejected: 0, jobs: { n: 0 } });

    const first = await replay('--json');
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as Record<string, number | boolean>;
    expect(report).toMatchObject({ dryRun: false, committed: 2, duplicate: 0, rejected: 2, failed: 0 });
    expect(report.enqueued).toBeGreaterThan(0);

    const store = Store.open(join(dir, 'relengd.db'));
    try {
      // Records of different partitions come in either order: which were stored matters, not the order.
      expect(store.events.query({ topic: 'bodhi.compose.complete', order: 'asc' }).map((e) => e.envelope.id).sort()).toEqual([3, 4].map((n) => `push-${names.suffix}-${n}`));
      const requested = store.events.query({ topic: 'relengd.ostree.compose.requested', order: 'asc' }).map((e) => e.envelope);
      expect(requested.length).toBeGreaterThan(0);
      expect(requested.every((e) => e.correlationid.startsWith(`push-${names.suffix}-`))).toBe(true);
      const refused = store.rejected.list(10).map((r) => [r.topic, r.reason]);
      expect(refused).toEqual(expect.arrayContaining([[gating.topic, 'unauthorized'], [command.topic, 'unauthorized']]));
      expect(store.events.get(gating.id!)).toBeUndefined();
      expect(store.events.get(command.id!)).toBeUndefined();
    } finally {
      store.close();
    }
    const after = counts();

    const again = await replay('--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ committed: 0, duplicate: 2, emitted: 0, enqueued: 0 });
    expect(counts()).toMatchObject({ events: after.events, jobs: after.jobs });

    // Replays read in groups of their own and commit nothing: the live group's offsets are untouched.
    const live = await committedOffsets(kafka, names.groupId, bodhi(0).topic);
    expect([...live.values()].every((offset) => offset < 0)).toBe(true);
  });
});

describe('relengd replay --from-kafka: usage', () => {
  it('exits 2 without --since, and when combined with another source', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    const [noSince, twoSources] = await Promise.all([
      runCli(['--config', configFile, 'replay', '--from-kafka']),
      runCli(['--config', configFile, 'replay', '--from-kafka', '--from-stream', '--since', '1h']),
    ]);
    expect(noSince.code).toBe(2);
    expect(noSince.stderr).toContain('--from-kafka needs --since');
    expect(twoSources.code).toBe(2);
    expect(twoSources.stderr).toContain('not --from-stream and --from-kafka');
  });
});
