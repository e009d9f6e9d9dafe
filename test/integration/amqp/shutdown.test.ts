/**
 * Shutdown (SIGTERM): stop consuming, finish and ack the deliveries in hand, close. Nothing stored
 * is left unacked: a restart on the same store sees no redelivery of what was already stored.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliverBatch } from '../../../src/bus/transport.ts';
import { sleep } from '../../../src/retry.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { brokerLock, brokerMissingReason, deleteTopology, plainConnection, readyCount, testNames, titled, type TestNames } from './broker.ts';
import { publishFedora } from '../../helpers/fedora-wire.ts';
import { startConsuming, storedIds, type Consuming } from './harness.ts';

function slowly(ms: number) {
  return (accept: DeliverBatch): DeliverBatch =>
    async (batch) => {
      await sleep(ms);
      return accept(batch);
    };
}

describe.skipIf(brokerMissingReason !== null)(titled('stopping the AMQP transport'), () => {
  let names: TestNames;
  const running: Consuming[] = [];
  let release: () => void;
  beforeEach(async () => {
    release = await brokerLock('shared');
    names = testNames('shutdown');
  });
  afterEach(async () => {
    for (const c of running.splice(0)) await c.close();
    await deleteTopology(names);
    release();
  });

  it('acks every delivery it stored before closing, so a restart on the same store gets no redelivery', async () => {
    const dir = tempDir();
    const messages = Array.from({ length: 600 }, (_, i) => ({
      topic: `${names.prefix}.bodhi.compose.complete`,
      id: `m-${names.suffix}-${i}`,
      body: { repo: `f${i}-updates`, success: true, ctype: 'rpm', agent: 'bodhi' },
    }));
    const first = await startConsuming({ names, dir, topics: ['bodhi.compose.complete'], prefetch: 25, wrap: slowly(20) });
    const { connection, channel } = await plainConnection();
    try {
      await publishFedora(channel, messages);
      await vi.waitFor(() => expect(first.transport.stats().consumer.committed).toBeGreaterThanOrEqual(100), { timeout: 20_000, interval: 10 });
      await first.transport.stop();

      const stopped = first.transport.stats().consumer;
      expect(stopped.unsettled).toBe(0);
      expect(stopped.acked).toBe(stopped.received);
      expect(storedIds(first.store)).toHaveLength(stopped.committed);
      expect(stopped.committed).toBeLessThan(600);
      expect(await readyCount(channel, names.queue)).toBe(600 - stopped.committed);

      const second = await startConsuming({ names, dir, topics: ['bodhi.compose.complete'], store: first.store });
      running.push(second);
      await vi.waitFor(() => expect(storedIds(second.store)).toHaveLength(600), { timeout: 20_000, interval: 20 });
      expect(second.transport.stats().consumer).toMatchObject({ committed: 600 - stopped.committed, duplicate: 0 });
    } finally {
      await connection.close();
    }
  }, 60_000);
});
