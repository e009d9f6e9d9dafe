/**
 * Shutdown (SIGTERM): stop consuming, finish and ack the deliveries in hand, close. Nothing stored
 * is left unacked: a restart on the same store sees no redelivery of what was already stored.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../helpers/tmp.ts';
import { brokerMissingReason, deleteTopology, plainConnection, readyCount, testNames, titled, type TestNames } from './broker.ts';
import { publishFedora } from '../../helpers/fedora-wire.ts';
import { holdAfter, startConsuming, storedIds, type Consuming } from './harness.ts';

describe.skipIf(brokerMissingReason !== null)(titled('stopping the AMQP transport'), () => {
  let names: TestNames;
  const running: Consuming[] = [];
  beforeEach(() => {
    names = testNames('shutdown');
  });
  afterEach(async () => {
    for (const c of running.splice(0)) await c.close();
    await deleteTopology(names);
  });

  it('acks every delivery it stored before closing, so a restart on the same store gets no redelivery', async () => {
    const dir = tempDir();
    const messages = Array.from({ length: 600 }, (_, i) => ({
      topic: `${names.prefix}.bodhi.compose.complete`,
      id: `m-${names.suffix}-${i}`,
      body: { repo: `f${i}-updates`, success: true, ctype: 'rpm', agent: 'bodhi' },
    }));
    // Stopped with a stored but unanswered batch in hand (held), and more received behind it.
    const hold = holdAfter(100);
    const first = await startConsuming({ names, dir, topics: ['bodhi.compose.complete'], prefetch: 25, wrap: hold.wrap });
    const { connection, channel } = await plainConnection();
    try {
      await publishFedora(channel, messages);
      const held = await hold.held;
      const committedBeforeStop = first.transport.stats().consumer.committed;
      const stopping = first.transport.stop();
      // Let the batch go once stop is under way (no longer consuming): stop must finish and ack it.
      await vi.waitFor(() => expect(first.transport.stats().consuming).toBe(false), { timeout: 10_000, interval: 5 });
      hold.release();
      await stopping;

      const stopped = first.transport.stats().consumer;
      expect(stopped.committed).toBeGreaterThanOrEqual(committedBeforeStop + held.length);
      expect(stopped.unsettled).toBe(0);
      expect(stopped.acked).toBe(stopped.received);
      expect(storedIds(first.store)).toHaveLength(stopped.committed);
      expect(await readyCount(channel, names.queue)).toBe(600 - stopped.committed);

      const second = await startConsuming({ names, dir, topics: ['bodhi.compose.complete'], store: first.store });
      running.push(second);
      await vi.waitFor(() => expect(storedIds(second.store)).toHaveLength(600), { timeout: 20_000, interval: 20 });
      expect(second.transport.stats().consumer).toMatchObject({ committed: 600 - stopped.committed, duplicate: 0 });
    } finally {
      hold.release();
      await connection.close();
    }
  }, 60_000);
});
