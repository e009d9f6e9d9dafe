/**
 * Contract (c): relengd's connection breaks in the middle of a stream, while it holds deliveries it
 * stored but has not yet acknowledged; it recovers by itself, and each of 2,000 messages is stored
 * exactly once: what was stored before the break and comes again is a duplicate, what was not
 * acknowledged is delivered again. How the connection breaks is each transport's own (see the
 * adapters): the broker closes it (AMQP, on a node of the test's own), a rebalance (Kafka), the
 * HTTP connections cut (embedded).
 */
import { expect, it, vi } from 'vitest';
import { privateNodeForFile } from '../amqp/private-node.ts';
import { bodhiMashes, gateAfter, inboundIds } from './harness.ts';
import { forEachTransport, scenarios, transports } from './transports.ts';

const amqpNode = await privateNodeForFile();
const TOTAL = 2000;

forEachTransport('a connection broken mid-stream loses nothing and doubles nothing', transports({ amqpNode }), (adapter) => {
  const run = scenarios(adapter);

  it(`stores each of ${TOTAL} messages once across the break`, { timeout: 150_000 }, async () => {
    const gate = gateAfter(300);
    const { names, relengd, bus } = await run.attach('reconnect', { topics: ['bodhi.compose.complete'], gate });
    const messages = bodhiMashes(names, 0, TOTAL);
    try {
      // Not awaited: over HTTP, sending waits for relengd's answers, which the gate holds.
      const sending = bus.send(messages);
      sending.catch(() => undefined);
      await gate.closed;
      await bus.interrupt();
      gate.open();
      await sending;

      await vi.waitFor(() => expect(inboundIds(relengd.store).length).toBe(TOTAL), { timeout: 90_000, interval: 100 });
      const stored = inboundIds(relengd.store);
      expect(new Set(stored)).toEqual(new Set(messages.map((m) => m.id)));
      await bus.expectInterrupted();
    } finally {
      gate.open();
    }
  });
});
