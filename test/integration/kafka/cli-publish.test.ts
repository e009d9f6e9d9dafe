/**
 * `relengd publish` with `bus.transport: kafka` (librdkafka's mock cluster): the message goes onto
 * the Kafka topic of its name as a binary-mode CloudEvent, and a relengd consuming that topic stores
 * it as sent. What relengd would refuse from Kafka (no identity comes with a record) is not sent.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Kafka } from 'kafkajs';
import { kafkaMissingReason, startMockCluster, titled, type MockCluster } from '../../helpers/kafka-mock/cluster.ts';
import { testConfigYaml } from '../../helpers/config.ts';
import { runCli } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { endOffsets, headerText, startConsuming, testClient, testNames, watchTopics, type Consuming } from './harness.ts';

const names = testNames('cli-publish');
const BODHI = `${names.prefix}.bodhi.compose.complete`;
const GREENWAVE = `${names.prefix}.greenwave.decision.update`;
const APPROVE = `${names.prefix}.relengd.release.approve`;
const FINISHED = `${names.prefix}.relengd.compose.finished`;

describe.skipIf(kafkaMissingReason !== null)(titled('relengd publish onto Kafka'), () => {
  let cluster: MockCluster;
  let kafka: Kafka;
  let consuming: Consuming | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    // relengd publishes onto topics that exist (relengd consumes only those); FINISHED exists too, to show it is refused, not missing.
    cluster = await startMockCluster({ topics: [BODHI, GREENWAVE, APPROVE, FINISHED] });
    kafka = testClient(cluster.brokers);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    for (const close of closers.splice(0)) await close();
  });

  function configFile(dir: string): string {
    const file = join(dir, 'relengd.yaml');
    const kafkaYaml = `bus: { transport: kafka, kafka: { brokers: ${JSON.stringify(cluster.brokers)}, groupId: ${names.groupId}, deadLetter: ${names.deadLetter} } }`;
    const yaml = testConfigYaml(dir, `${kafkaYaml}\npublishers:\n  relengd.release.approve: [alice]\n  greenwave.decision.update: [greenwave]\n`);
    writeFileSync(file, yaml.replace(/^topicPrefix: .*$/m, `topicPrefix: ${names.prefix}`));
    return file;
  }

  it('sends a message file as a binary-mode CloudEvent, and a relengd consuming Kafka stores it as sent', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const file = configFile(dir);
    const watcher = await watchTopics(kafka, [BODHI]);
    closers.push(() => watcher.close());
    const messageFile = join(dir, 'mashed.json');
    const body = { repo: 'f26-updates', success: true, agent: 'bodhi' };
    writeFileSync(messageFile, JSON.stringify({ topic: BODHI, id: `cli-${names.suffix}`, headers: { 'sent-at': '2026-11-26T10:00:00+00:00', fedora_messaging_severity: 20 }, body }));

    const published = await runCli(['--config', file, 'publish', '--file', messageFile, '--json']);
    expect(published.code, published.stderr).toBe(0);
    expect(JSON.parse(published.stdout)).toEqual({ status: 'published', id: `cli-${names.suffix}`, via: 'kafka' });

    await vi.waitFor(() => expect(watcher.records).toHaveLength(1), { timeout: 20_000, interval: 50 });
    const { message } = watcher.records[0]!;
    expect(JSON.parse(message.value!.toString())).toEqual(body);
    expect(Object.fromEntries(['ce_specversion', 'ce_id', 'ce_type', 'ce_source', 'ce_time', 'ce_topic', 'content-type', 'sent-at', 'fedora_messaging_severity'].map((h) => [h, headerText(message.headers, h)]))).toEqual({
      ce_specversion: '1.0',
      ce_id: `cli-${names.suffix}`,
      ce_type: BODHI,
      ce_source: '/relengd/cli',
      ce_time: '2026-11-26T10:00:00.000Z',
      ce_topic: BODHI,
      'content-type': 'application/json',
      'sent-at': '2026-11-26T10:00:00+00:00',
      fedora_messaging_severity: '20',
    });

    // The consuming side: the same id, time and data, with the file's headers kept.
    consuming = await startConsuming({ brokers: cluster.brokers, names, dir: tempDir(), patterns: ['bodhi.compose.complete'] });
    const store = consuming.store;
    await vi.waitFor(() => expect(store.events.get(`cli-${names.suffix}`)).toBeDefined(), { timeout: 30_000, interval: 50 });
    const { envelope } = store.events.get(`cli-${names.suffix}`)!;
    expect(envelope).toMatchObject({ topic: 'bodhi.compose.complete', time: '2026-11-26T10:00:00.000Z', data: body, publisher: undefined, headers: { 'sent-at': '2026-11-26T10:00:00+00:00', fedora_messaging_severity: '20' } });

    // Sent again (the same file), the consumer's inbox drops it: the id is the message's.
    const again = await runCli(['--config', file, 'publish', '--file', messageFile]);
    expect(again.stdout).toContain(`published cli-${names.suffix} to Kafka topic ${BODHI}`);
    await vi.waitFor(() => expect(consuming!.transport.stats().consumer.duplicate).toBe(1), { timeout: 30_000, interval: 50 });
  });

  it('sends nothing relengd would refuse from Kafka: gating facts and commands (no identity), its own events, a body off its schema', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const file = configFile(dir);
    const before = await Promise.all([GREENWAVE, APPROVE, FINISHED, BODHI].map((t) => endOffsets(kafka, t)));
    const publish = (topic: string, data: unknown) => runCli(['--config', file, 'publish', '-t', topic, '-d', JSON.stringify(data), '--json']);
    const [gating, command, own, invalid] = await Promise.all([
      publish(GREENWAVE, { policies_satisfied: true, decision_context: 'atomic_two_week' }),
      publish(APPROVE, { group: 'f26-atomic-host', version: '26.1' }),
      publish(FINISHED, { status: 'FINISHED' }),
      publish(BODHI, { repo: 'f26-updates' }),
    ]);
    for (const r of [gating, command, own, invalid]) expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(gating.stdout)).toMatchObject({ status: 'rejected', reason: 'unauthorized', field: 'publisher' });
    expect(JSON.parse(gating.stdout).error).toContain('a Kafka record carries no identity');
    expect(JSON.parse(command.stdout)).toMatchObject({ status: 'rejected', reason: 'unauthorized' });
    expect(JSON.parse(own.stdout)).toMatchObject({ status: 'rejected', reason: 'own-topic' });
    expect(JSON.parse(invalid.stdout)).toMatchObject({ status: 'rejected', reason: 'schema' });
    const after = await Promise.all([GREENWAVE, APPROVE, FINISHED, BODHI].map((t) => endOffsets(kafka, t)));
    expect(after).toEqual(before);
  });

  it('fails naming the topic when it does not exist on the cluster (nobody consumes it), creating nothing', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const missing = `${names.prefix}.kafkatest.missing`; // outside the catalogue: any data goes
    const result = await runCli(['--config', configFile(dir), 'publish', '-t', missing, '-d', '{"tag": "f26-updates"}']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`publish of `);
    expect(result.stderr).toContain(`to ${missing} failed: no such topic on the cluster`);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(missing);
    } finally {
      await admin.disconnect();
    }
  });
});
