/**
 * Contract: a transport with a broker says how many messages wait there for relengd (the
 * `relengd_bus_backlog_messages` metric): some while relengd holds a batch it has not settled, none
 * once it has taken them all. The embedded transport has no broker: nothing ever waits.
 */
import { expect, it, vi } from 'vitest';
import { bodhiMashes, gateAfter } from './harness.ts';
import { forEachTransport, scenarios, transports } from './transports.ts';

const COUNT = 60;

forEachTransport('the broker says how many messages wait for relengd', transports(), (adapter) => {
  const run = scenarios(adapter);
  const brokered = !adapter.name.startsWith('embedded');

  it('counts what waits while relengd holds a batch, and nothing once it took them all', { timeout: 90_000 }, async () => {
    const gate = gateAfter(1);
    const { names, relengd, bus } = await run.attach('backlog', { topics: ['bodhi.compose.complete'], gate });
    const backlog = () => bus.transport.backlog!();
    // Over HTTP each request waits for its answer, which the gate holds: not awaited until it opens.
    const sending = bus.send(bodhiMashes(names, 0, COUNT));
    await gate.closed;
    if (brokered) await vi.waitFor(async () => expect(await backlog()).toBeGreaterThan(0), { timeout: 30_000, interval: 250 });
    else expect(await backlog()).toBe(0);

    gate.open();
    await sending;
    await vi.waitFor(() => expect(relengd.decided()).toBe(COUNT), { timeout: 30_000, interval: 50 });
    // Read again at most every few seconds: polled until the broker's answer is the one after the last settle.
    await vi.waitFor(async () => expect(await backlog()).toBe(0), { timeout: 30_000, interval: 250 });
  });
});
