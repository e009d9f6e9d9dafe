/**
 * Poison messages: a message that can never be stored comes back `deliveryLimit` times and then
 * ends in the dead-letter queue, while the messages around it are processed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ERROR_HEADER } from '../../../src/bus/amqp/index.ts';
import type { DeliverBatch } from '../../../src/bus/transport.ts';
import { MessageRejectedError } from '../../../src/errors.ts';
import type { Outcome } from '../../../src/pipeline/intake.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { brokerMissingReason, deleteTopology, drainQueue, plainConnection, readyCount, testNames, titled, type TestNames } from './broker.ts';
import { publishFedora, type FedoraMessage } from '../../helpers/fedora-wire.ts';
import { startConsuming, storedIds, type Consuming } from './harness.ts';

const DELIVERY_LIMIT = 3;

describe.skipIf(brokerMissingReason !== null)(titled('poison messages on RabbitMQ'), () => {
  let names: TestNames;
  let consuming: Consuming | undefined;
  beforeEach(() => {
    names = testNames('poison');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    await deleteTopology(names);
  });

  function messages(): FedoraMessage[] {
    return Array.from({ length: 20 }, (_, i) => ({
      topic: `${names.prefix}.bodhi.compose.complete`,
      id: i === 9 ? `poison-${names.suffix}` : `m-${names.suffix}-${i}`,
      body: { repo: `f${i}-updates`, success: true, ctype: 'rpm', agent: 'bodhi' },
    }));
  }

  /** A deliver that answers retry-later for the poison message (and, when `always`, even for its poison record). */
  function failingFor(id: string, seen: number[], always: boolean) {
    return (accept: DeliverBatch): DeliverBatch =>
      async (batch) => {
        const outcomes: Outcome[] = new Array(batch.length);
        const passOn = batch.flatMap((d, i) => {
          const poison = !(d.decoded instanceof MessageRejectedError) && d.decoded.id === id;
          const record = d.decoded instanceof MessageRejectedError && d.decoded.reason === 'poison';
          if (poison) seen.push(Number(d.headers['x-delivery-count'] ?? 0));
          if (poison || (record && always)) {
            outcomes[i] = { kind: 'retry-later', error: new Error('the store is having a bad day') };
            return [];
          }
          return [i];
        });
        const answered = await accept(passOn.map((i) => batch[i]!));
        passOn.forEach((i, k) => (outcomes[i] = answered[k]!));
        return outcomes;
      };
  }

  it('dead-letters a message that is retry-later every time as poison after deliveryLimit redeliveries, and processes the others', async () => {
    const poisonId = `poison-${names.suffix}`;
    const seen: number[] = [];
    consuming = await startConsuming({ names, dir: tempDir(), topics: ['bodhi.compose.complete'], deliveryLimit: DELIVERY_LIMIT, wrap: failingFor(poisonId, seen, false) });
    const { connection, channel } = await plainConnection();
    try {
      await publishFedora(channel, messages());
      const transport = consuming.transport;
      await vi.waitFor(() => expect(transport.stats().consumer.deadLettered).toBe(1), { timeout: 15_000, interval: 20 });

      expect(seen).toEqual([0, 1, 2, 3]); // the first delivery, then deliveryLimit redeliveries
      expect(storedIds(consuming.store).sort()).toEqual(messages().map((m) => m.id!).filter((id) => id !== poisonId).sort());
      const [rejection] = consuming.store.rejected.list();
      expect(rejection).toMatchObject({ reason: 'poison', transport: 'amqp' });
      expect(rejection!.headers['amqp.message-id']).toBe(poisonId);
      expect(rejection!.detail).toContain('the store is having a bad day');

      const dead = await drainQueue(channel, names.deadLetter);
      expect(dead.map((m) => m.properties.messageId)).toEqual([poisonId]);
      expect(dead[0]!.properties.headers?.[ERROR_HEADER]).toMatchObject({ reason: 'poison', 'delivery-count': DELIVERY_LIMIT + 1 });
      expect(await readyCount(channel, names.queue)).toBe(0);
      expect(transport.stats().consumer).toMatchObject({ committed: 19, poison: 1, requeued: DELIVERY_LIMIT });
    } finally {
      await connection.close();
    }
  });

  it('leaves it to the broker to dead-letter a message whose poison record cannot be stored either (x-death delivery_limit)', async () => {
    const poisonId = `poison-${names.suffix}`;
    const seen: number[] = [];
    consuming = await startConsuming({ names, dir: tempDir(), topics: ['bodhi.compose.complete'], deliveryLimit: DELIVERY_LIMIT, wrap: failingFor(poisonId, seen, true) });
    const { connection, channel } = await plainConnection();
    try {
      await publishFedora(channel, messages());
      await vi.waitFor(async () => expect(await readyCount(channel, names.deadLetter)).toBe(1), { timeout: 15_000, interval: 50 });

      expect(seen).toEqual([0, 1, 2, 3]);
      expect(storedIds(consuming.store)).toHaveLength(19);
      expect(consuming.store.rejected.count()).toBe(0);
      const [dead] = await drainQueue(channel, names.deadLetter);
      expect(dead!.properties.messageId).toBe(poisonId);
      expect(dead!.properties.headers?.[ERROR_HEADER]).toBeUndefined();
      expect(dead!.properties.headers).toMatchObject({ 'x-first-death-reason': 'delivery_limit', 'x-first-death-queue': names.queue });
      expect(await readyCount(channel, names.queue)).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
