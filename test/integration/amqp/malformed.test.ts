/**
 * Bad input among good: invalid JSON and schema failures go to the dead-letter queue with the
 * reason and into the rejected table, and the consumer carries on with everything else.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ERROR_HEADER } from '../../../src/bus/amqp/index.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { brokerMissingReason, deleteTopology, drainQueue, plainConnection, readyCount, testNames, titled, type TestNames } from './broker.ts';
import { fedoraWire, type FedoraMessage } from '../../helpers/fedora-wire.ts';
import { startConsuming, storedIds, type Consuming } from './harness.ts';

describe.skipIf(brokerMissingReason !== null)(titled('malformed messages on RabbitMQ'), () => {
  let names: TestNames;
  let consuming: Consuming | undefined;
  beforeEach(() => {
    names = testNames('malformed');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    await deleteTopology(names);
  });

  it('dead-letters the 5% malformed of 1,000 messages with their reason, stores each valid one once, and keeps consuming', async () => {
    consuming = await startConsuming({ names, dir: tempDir(), topics: ['bodhi.compose.complete'] });
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const expected = new Map<string, 'valid' | 'not-json' | 'schema'>();
    const messages: FedoraMessage[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = `m-${names.suffix}-${i}`;
      const kind = i % 40 === 7 ? 'not-json' : i % 40 === 27 ? 'schema' : 'valid';
      expected.set(id, kind);
      const body = kind === 'schema' ? { repo: `f${i}-updates`, success: 'yes', ctype: 'rpm', agent: 'bodhi' } : { repo: `f${i}-updates`, success: true, ctype: 'rpm', agent: 'bodhi' };
      messages.push({ topic, id, body });
    }
    const { connection, channel } = await plainConnection();
    try {
      // Invalid JSON cannot come from a JSON serializer: write those bytes by hand.
      for (const m of messages) {
        const wire = fedoraWire(m);
        const content = expected.get(m.id!) === 'not-json' ? Buffer.from(`{"repo": "${m.id}", `) : wire.content;
        if (!channel.publish('amq.topic', wire.routingKey, content, wire.options)) await new Promise((r) => channel.once('drain', r));
      }
      await channel.waitForConfirms();

      const transport = consuming.transport;
      await vi.waitFor(() => expect(transport.stats().consumer.acked).toBe(1000), { timeout: 30_000, interval: 50 });
      expect(transport.isReady()).toBe(true);
      expect(await readyCount(channel, names.queue)).toBe(0);

      const valid = [...expected].filter(([, k]) => k === 'valid').map(([id]) => id);
      expect(valid).toHaveLength(950);
      expect(storedIds(consuming.store).sort()).toEqual(valid.sort());

      const dead = await drainQueue(channel, names.deadLetter);
      const deadReasons = Object.fromEntries(dead.map((m) => [m.properties.messageId as string, (m.properties.headers?.[ERROR_HEADER] as { reason: string }).reason]));
      const malformed = Object.fromEntries([...expected].filter(([, k]) => k !== 'valid'));
      expect(deadReasons).toEqual(malformed);
      expect(dead.every((m) => m.fields.routingKey === topic && (m.properties.headers?.[ERROR_HEADER] as Record<string, unknown>)['routing-key'] === topic)).toBe(true);

      const rejected = consuming.store.rejected.list(1000);
      expect(Object.fromEntries(rejected.map((r) => [r.headers['amqp.message-id'], r.reason]))).toEqual(malformed);
      expect(rejected.find((r) => r.reason === 'schema')).toMatchObject({ field: 'success', topic, transport: 'amqp' });
      expect(transport.stats().consumer).toMatchObject({ committed: 950, rejected: 50, deadLettered: 50, requeued: 0 });
    } finally {
      await connection.close();
    }
  }, 60_000);
});
