/**
 * What relengd publishes, as a Fedora Messaging consumer sees it: a plain amqplib consumer bound to
 * `#.relengd.compose.finished` gets Fedora Messaging's headers and a body valid against schemas/.
 * And a publish counts only when the broker confirmed it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AmqpTransport, PublishFailedError } from '../../../src/bus/amqp/index.ts';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import { silentLogger } from '../../../src/log.ts';
import { projectRoot } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { amqpUrl, brokerMissingReason, deleteTopology, plainConnection, testNames, titled, type TestNames } from './broker.ts';
import { startConsuming, testRetry, type Consuming } from './harness.ts';

const composeFinished = {
  composeId: 'f26-atomic-host-x86_64-26.20240621.0',
  stream: 'f26-atomic-host-x86_64',
  group: 'f26-atomic-host',
  arch: 'x86_64',
  ref: 'fedora/26/x86_64/updates/atomic-host',
  commit: 'c'.repeat(64),
  version: '26.20240621.0',
  status: 'FINISHED',
  artifacts: [{ name: 'installer', kind: 'installer', platform: 'metal', format: 'iso', path: '/srv/out/boot.iso', sha256: 'd'.repeat(64), size: 1234 }],
};

describe.skipIf(brokerMissingReason !== null)(titled('publishing to RabbitMQ'), () => {
  let names: TestNames;
  let consuming: Consuming | undefined;
  beforeEach(() => {
    names = testNames('publish');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    await deleteTopology(names);
  });

  function envelope(id: string) {
    return makeEnvelope(
      { topic: `${names.prefix}.relengd.compose.finished`, id, data: composeFinished, source: '/relengd/compose-tracker', subject: composeFinished.ref, correlationid: 'bodhi-1', causationid: 'rel-2' },
      { prefix: names.prefix, receivedAt: '2024-06-21T12:52:29.123Z' },
    );
  }

  it('sends a compose.finished that a plain consumer on #.relengd.compose.finished reads with Fedora Messaging headers and a schema-valid body', async () => {
    consuming = await startConsuming({ names, dir: tempDir(), topics: [] });
    const { connection, channel } = await plainConnection();
    try {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, 'amq.topic', '#.relengd.compose.finished');
      const received: ConsumeMessage[] = [];
      await channel.consume(queue, (m) => m && received.push(m), { noAck: true });

      const e = envelope(`cf-${names.suffix}`);
      expect(await consuming.transport.publish([{ envelope: e, routingKey: `${names.prefix}.relengd.compose.finished` }])).toEqual([{ ok: true }]);

      await vi.waitFor(() => expect(received.some((m) => m.properties.messageId === e.id)).toBe(true), { timeout: 5000, interval: 20 });
      const msg = received.find((m) => m.properties.messageId === e.id)!;
      expect(msg.fields).toMatchObject({ exchange: 'amq.topic', routingKey: `${names.prefix}.relengd.compose.finished` });
      expect(msg.properties).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, messageId: e.id });
      expect(msg.properties.headers).toMatchObject({
        fedora_messaging_schema: 'relengd.compose.finished.v1',
        fedora_messaging_severity: 20,
        'sent-at': '2024-06-21T12:52:29+00:00',
        cloudEvents_specversion: '1.0',
        cloudEvents_id: e.id,
        cloudEvents_type: 'org.relengd.compose.finished',
        cloudEvents_source: '/relengd/compose-tracker',
        cloudEvents_subject: composeFinished.ref,
        cloudEvents_correlationid: 'bodhi-1',
        cloudEvents_causationid: 'rel-2',
      });

      const schema = JSON.parse(readFileSync(join(projectRoot, 'schemas', 'relengd.compose.finished.json'), 'utf8')) as object;
      const validate = new Ajv2020({ strict: false }).compile(schema);
      const body: unknown = JSON.parse(msg.content.toString('utf8'));
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
      expect(body).toEqual(composeFinished);
    } finally {
      await connection.close();
    }
  });

  it('confirms an event nobody is bound to, as Fedora Messaging does: published to nobody, never retried forever', async () => {
    consuming = await startConsuming({ names, dir: tempDir(), topics: ['bodhi.compose.complete'] });
    const results = await consuming.transport.publish([
      { envelope: envelope(`ok-${names.suffix}`), routingKey: `${names.prefix}.relengd.compose.finished` },
      { envelope: envelope(`nobody-${names.suffix}`), routingKey: `${names.prefix}.relengd.nobody.listens` },
    ]);
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    expect(consuming.transport.stats().publisher).toMatchObject({ confirmed: 2, returned: 0 });
  });

  it('publishes 5,000 events in one call, waiting for drain when the socket buffer is full, each confirmed', async () => {
    consuming = await startConsuming({ names, dir: tempDir(), topics: [] });
    const { connection, channel } = await plainConnection();
    try {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, 'amq.topic', `${names.prefix}.relengd.compose.finished`);
      const items = Array.from({ length: 5000 }, (_, i) => ({ envelope: envelope(`bulk-${names.suffix}-${i}`), routingKey: `${names.prefix}.relengd.compose.finished` }));
      const results = await consuming.transport.publish(items);
      expect(results.every((r) => r.ok)).toBe(true);
      const stats = consuming.transport.stats().publisher;
      expect(stats).toMatchObject({ published: 5000, confirmed: 5000, returned: 0, unconfirmed: 0, lost: 0 });
      expect(stats.drains).toBeGreaterThan(0);
      expect((await channel.checkQueue(queue)).messageCount).toBe(5000);
    } finally {
      await connection.close();
    }
  });

  it('fails every item at once when not connected, before start and after stop', async () => {
    const transport = new AmqpTransport({
      config: { url: amqpUrl, queue: names.queue, deadLetter: names.deadLetter, prefetch: 10, bindings: [], deliveryLimit: 3, heartbeatSeconds: 5, streamMaxAge: '7D' },
      topicPrefix: names.prefix,
      bindingKeys: [],
      logger: silentLogger(),
      retry: testRetry,
    });
    const item = { envelope: envelope(`x-${names.suffix}`), routingKey: `${names.prefix}.relengd.compose.finished` };
    const before = await transport.publish([item, item]);
    expect(before.map((r) => r.ok)).toEqual([false, false]);
    await transport.start(async (batch) => batch.map(() => ({ kind: 'retry-later', error: new Error('unused') })));
    expect(transport.isReady()).toBe(true);
    await transport.stop();
    expect(transport.isReady()).toBe(false);
    expect((await transport.publish([item]))[0]!.ok).toBe(false);
  });
});
