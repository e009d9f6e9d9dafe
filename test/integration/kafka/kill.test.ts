/**
 * `relengd start` on Kafka (librdkafka's mock cluster) killed with SIGKILL while it works through
 * its backlog: batches fetched, some stored, offsets of some committed. Restarted, it resumes from
 * the group's committed offsets; whatever it had stored past them comes again and the inbox drops
 * it. Every record ends up in the inbox once, and what the listeners derived from them is not
 * doubled.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import { testConfigYaml } from '../../helpers/config.ts';
import { kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { spawnDaemon, type DaemonProcess } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { committedOffsets, produceBridged, testClient, testNames, testProducer, type BridgedMessage } from './harness.ts';

const TOPIC = 'org.fedoraproject.prod.bodhi.compose.complete';
const TOTAL = 2000;
/** Every this many records is a mash of f26-updates, which composes both arches of the test config; the rest is traffic for a repo no stream uses. */
const MASH_EVERY = 100;

describe.skipIf(kafkaMissingReason !== null)(titled('relengd on Kafka killed with SIGKILL in the middle of a batch'), () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let producer: Producer;
  const running: DaemonProcess[] = [];

  beforeAll(async () => {
    cluster = await startMockCluster({ topics: [TOPIC] });
    kafka = testClient(cluster.brokers);
    producer = await testProducer(kafka);
  });
  afterAll(async () => {
    await producer?.disconnect();
    await cluster?.stop();
  });
  afterEach(() => {
    for (const d of running.splice(0)) d.child.kill('SIGKILL');
  });

  it(`stores each of ${TOTAL} records once and derives nothing twice`, { timeout: 240_000 }, async () => {
    const names = testNames('kill');
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    const bus = `bus: { transport: kafka, kafka: { brokers: ${JSON.stringify(cluster.brokers)}, groupId: ${names.groupId}, deadLetter: ${names.deadLetter}, fromBeginning: true } }`;
    writeFileSync(configFile, testConfigYaml(dir, bus));
    const records = Array.from({ length: TOTAL }, (_, i): BridgedMessage => ({
      topic: TOPIC,
      id: `kill-${names.suffix}-${i}`,
      body: { repo: i % MASH_EVERY === 0 ? 'f26-updates' : 'f99-unused-updates', success: true, ctype: 'rpm', agent: 'bodhi', n: i },
    }));
    const mashes = records.filter((r) => (r.body as { repo: string }).repo === 'f26-updates');

    // Half the records wait in the topic when relengd starts; it takes them in batches (one per partition).
    await produceBridged(producer, records.slice(0, TOTAL / 2));
    const first = await spawnDaemon(configFile);
    running.push(first);
    const store = new DatabaseSync(join(dir, 'relengd.db'), { readOnly: true });
    try {
      const count = (sql: string): number => (store.prepare(sql).get() as { n: number }).n;
      const inbound = () => count("SELECT count(*) AS n FROM events WHERE origin = 'inbound'");

      // Killed at its first commit: some records stored, the rest of the backlog fetched or being fetched.
      await vi.waitFor(() => expect(inbound()).toBeGreaterThan(0), { timeout: 60_000, interval: 5 });
      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull();
      const storedAtKill = inbound();
      expect(storedAtKill).toBeGreaterThan(0);
      expect(storedAtKill).toBeLessThan(TOTAL);
      // Stored is never behind committed (offsets are committed after the store commit); what is
      // stored past the committed offsets comes again after the restart.
      const committedAtKill = [...(await committedOffsets(kafka, names.groupId, TOPIC)).values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
      expect(committedAtKill).toBeLessThanOrEqual(storedAtKill);

      // The other half arrives while relengd is down.
      await produceBridged(producer, records.slice(TOTAL / 2));
      const second = await spawnDaemon(configFile);
      running.push(second);
      await vi.waitFor(() => expect(inbound()).toBe(TOTAL), { timeout: 120_000, interval: 100 });
      // Quiet: every event dispatched, no job waiting or running.
      await vi.waitFor(() => {
        expect(count("SELECT count(*) AS n FROM events WHERE dispatch_state = 'pending'")).toBe(0);
        expect(count("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running')")).toBe(0);
      }, { timeout: 60_000, interval: 100 });
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);

      // Every record once.
      const ids = (store.prepare("SELECT id FROM events WHERE origin = 'inbound'").all() as Array<{ id: string }>).map((r) => r.id);
      expect(ids).toHaveLength(TOTAL);
      expect(new Set(ids)).toEqual(new Set(records.map((r) => r.id)));
      // What was stored but not committed at the kill came back, and the inbox dropped it.
      const stopped = second.lines.find((l) => l.component === 'bus.kafka' && l.msg === 'stopped') as { stats: { consumer: { committed: number; duplicate: number } } } | undefined;
      expect(stopped?.stats.consumer).toMatchObject({ committed: TOTAL - storedAtKill });
      expect(stopped!.stats.consumer.duplicate).toBeGreaterThanOrEqual(storedAtKill - committedAtKill);

      // Derived once: a compose request per arch for each mash, and one job per cause and kind.
      const requested = store.prepare("SELECT causation_id AS cause, subject FROM events WHERE topic = 'relengd.ostree.compose.requested'").all() as Array<{ cause: string; subject: string }>;
      expect(requested).toHaveLength(2 * mashes.length);
      expect(new Set(requested.map((r) => `${r.cause} ${r.subject}`)).size).toBe(2 * mashes.length);
      expect(new Set(requested.map((r) => r.cause))).toEqual(new Set(mashes.map((m) => m.id)));
      expect(store.prepare('SELECT cause_event_id, kind, count(*) AS n FROM jobs GROUP BY cause_event_id, kind HAVING n > 1').all()).toEqual([]);
      expect(count("SELECT count(*) AS n FROM events WHERE dispatch_state = 'failed'")).toBe(0);
    } finally {
      store.close();
    }
  });
});
