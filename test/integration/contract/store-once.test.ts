/**
 * Contract (a): a message delivered twice is stored once, on every transport: the inbox is keyed
 * by message id, and a message without one gets the id of its topic and body wherever it came from.
 */
import { expect, it, vi } from 'vitest';
import { idOfIdLessMessage } from '../../../src/events/ids.ts';
import { bodhiMashes, inboundIds } from './harness.ts';
import { forEachTransport, scenarios, transports } from './transports.ts';

forEachTransport('a message delivered twice is stored once', transports(), (adapter) => {
  const run = scenarios(adapter);

  it('stores each message once, with an id or without, when its producer sends it twice', { timeout: 60_000 }, async () => {
    const { names, relengd, bus } = await run.attach('once', { topics: ['bodhi.compose.complete'] });
    const [withId] = bodhiMashes(names, 0, 1);
    const { id: _none, ...withoutId } = bodhiMashes(names, 1, 2)[0]!;
    // Two sends: two deliveries of each, as after a producer's retry.
    await bus.send([withId!, withoutId]);
    await bus.send([withId!, withoutId]);

    await vi.waitFor(() => expect(relengd.decided()).toBe(4), { timeout: 30_000, interval: 50 });
    expect(inboundIds(relengd.store).sort()).toEqual([withId!.id, idOfIdLessMessage(withoutId.topic, withoutId.body)].sort());
  });
});
