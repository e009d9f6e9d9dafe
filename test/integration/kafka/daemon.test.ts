/**
 * The daemon on Kafka (librdkafka's mock cluster): a Bodhi message bridged into Kafka comes in,
 * relengd composes with the demo's stand-in composer on a real OSTree repo, and its events go out
 * on Kafka as binary-mode CloudEvents keyed by subject. Greenwave's decision over Kafka is refused
 * (no identity); the same decision from an operator on this machine promotes.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import { startDaemon, type Daemon } from '../../../src/cli/daemon.ts';
import { DEMO_VERSION } from '../../../src/cli/demo/scenario.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { silentLogger } from '../../../src/log.ts';
import { kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { preparePipeline } from '../../helpers/pipeline.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { headerText, produceBridged, testClient, testNames, testProducer, watchTopics, type ReadRecord } from './harness.ts';

const PREFIX = 'org.fedoraproject.prod';
const BODHI = `${PREFIX}.bodhi.compose.complete`;
const GREENWAVE = `${PREFIX}.greenwave.decision.update`;

describe.skipIf(kafkaMissingReason !== null)(titled('relengd start on Kafka'), () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let producer: Producer;
  let daemon: Daemon | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    // The consumed topics exist before relengd starts (it subscribes to the topics it finds).
    cluster = await startMockCluster({ topics: [BODHI, GREENWAVE] });
    kafka = testClient(cluster.brokers);
    producer = await testProducer(kafka);
  });
  afterAll(async () => {
    await producer?.disconnect();
    await cluster?.stop();
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    for (const close of closers.splice(0)) await close();
  });

  it('composes from a Bodhi message on Kafka and publishes compose.finished and the promotion on Kafka', { timeout: 90_000 }, async () => {
    const names = testNames('daemon');
    const dir = tempDir();
    const kafkaYaml = `bus: { transport: kafka, kafka: { brokers: ${JSON.stringify(cluster.brokers)}, groupId: ${names.groupId}, deadLetter: ${names.deadLetter}, fromBeginning: true } }`;
    const { yaml, steps } = await preparePipeline(dir, (y) => y.replace('bus: { transport: embedded }', kafkaYaml));
    const config = parseConfig(yaml, { RELENGD_HTTP_PORT: '0' });
    expect(config.bus.transport).toBe('kafka');

    const watcher = await watchTopics(kafka, [`${PREFIX}.relengd.compose.finished`, `${PREFIX}.relengd.release.promoted`, names.deadLetter]);
    closers.push(() => watcher.close());
    const on = (topic: string): ReadRecord[] => watcher.records.filter((r) => r.topic === topic);

    daemon = await startDaemon({ config, logger: silentLogger(), serveHttp: false });
    expect(daemon.transport.name).toBe('kafka');
    expect(daemon.transport.isReady()).toBe(true);

    // Bodhi mashed f26-updates: bridged from Fedora Messaging into Kafka.
    const bodhi = steps[0]!;
    writeFileSync(bodhi.prepare!.file, JSON.stringify(bodhi.prepare!.content));
    await produceBridged(producer, [{ topic: BODHI, id: bodhi.message.id, body: bodhi.message.data, headers: bodhi.message.headers }]);

    await vi.waitFor(() => expect(on(`${PREFIX}.relengd.compose.finished`)).toHaveLength(2), { timeout: 60_000, interval: 100 });
    const stored = (await daemon.store.events.query({ topic: 'relengd.compose.finished', order: 'asc' })).map((e) => e.envelope);
    expect(stored.map((e) => (e.data as { status: string }).status)).toEqual(['FINISHED', 'FINISHED']);
    for (const record of on(`${PREFIX}.relengd.compose.finished`)) {
      const id = headerText(record.message.headers, 'ce_id')!;
      const envelope = stored.find((e) => e.id === id)!;
      expect(envelope, `compose.finished ${id} is one relengd stored`).toBeDefined();
      // Binary mode: attributes in ce_* headers, the data as the value, the subject as the key.
      expect(record.message.key?.toString()).toBe(envelope.subject);
      expect(JSON.parse(record.message.value!.toString())).toEqual(envelope.data);
      expect(Object.fromEntries(['ce_specversion', 'ce_type', 'ce_source', 'ce_subject', 'ce_partitionkey', 'ce_correlationid', 'ce_causationid', 'ce_topic', 'content-type'].map((h) => [h, headerText(record.message.headers, h)]))).toEqual({
        ce_specversion: '1.0',
        ce_type: envelope.type,
        ce_source: envelope.source,
        ce_subject: envelope.subject,
        ce_partitionkey: envelope.subject,
        ce_correlationid: bodhi.message.id,
        ce_causationid: envelope.causationid,
        ce_topic: `${PREFIX}.relengd.compose.finished`,
        'content-type': 'application/json',
      });
    }

    // Greenwave's decision over Kafka counts for nothing: no identity comes with a record.
    const greenwave = steps[2]!;
    await produceBridged(producer, [{ topic: GREENWAVE, id: greenwave.message.id, body: greenwave.message.data, headers: greenwave.message.headers }]);
    await vi.waitFor(() => expect(on(names.deadLetter)).toHaveLength(1), { timeout: 20_000, interval: 100 });
    expect(JSON.parse(headerText(on(names.deadLetter)[0]!.message.headers, 'x-relengd-error')!)).toMatchObject({ reason: 'unauthorized', topic: GREENWAVE });
    expect(await daemon.store.events.get(greenwave.message.id!)).toBeUndefined();

    // The same decision fed by an operator on this machine promotes, and the promotion goes out on Kafka.
    const [outcome] = await daemon.intake.accept([{ transport: 'operator', raw: Buffer.from(JSON.stringify(greenwave.message.data)), headers: {}, decoded: greenwave.message, source: 'operator' }]);
    expect(outcome?.kind).toBe('committed');
    await vi.waitFor(() => expect(on(`${PREFIX}.relengd.release.promoted`)).toHaveLength(1), { timeout: 30_000, interval: 100 });
    expect(JSON.parse(on(`${PREFIX}.relengd.release.promoted`)[0]!.message.value!.toString())).toMatchObject({ group: 'f26-atomic-host', version: DEMO_VERSION });
    await daemon.idle();
    expect(await daemon.store.outbox.countPending()).toBe(0);
  });
});
