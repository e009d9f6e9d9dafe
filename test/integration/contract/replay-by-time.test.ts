/**
 * Contract (e): replay by time. relengd processed some messages live, then was down while more
 * were sent; catching up from a time T (after the first, before the second) reads only the
 * messages sent since T, processes each once (stored, its follow-on events emitted), and a second
 * replay changes nothing. Where the history is read from is each transport's own (see the
 * adapters): the store (embedded, `relengd replay --since`), the RabbitMQ stream (`--from-stream`),
 * the Kafka topics (`--from-kafka`).
 */
import { expect, it, vi } from 'vitest';
import { bodhiMashes, followOnsByCause, inboundIds } from './harness.ts';
import { forEachTransport, scenarios, transports } from './transports.ts';

/** Each Bodhi mash of f26-updates asks for a compose of both arches of the test config. */
const REQUESTED = 'relengd.ostree.compose.requested';

forEachTransport('replay by time catches up on what was sent since, once', transports(), (adapter) => {
  const run = scenarios(adapter);

  it('reads only the messages sent since T, processes each once, and a second replay adds nothing', { timeout: 90_000 }, async () => {
    const now = Date.now();
    const { names, relengd, bus } = await run.attach('replay', { topics: ['bodhi.compose.complete'] });
    const live = bodhiMashes(names, 0, 4, now - 2 * 3_600_000);
    await bus.send(live);
    await vi.waitFor(() => expect(relengd.decided()).toBe(live.length), { timeout: 30_000, interval: 50 });
    await relengd.dispatcher.drain();
    await bus.stop();

    const missed = bodhiMashes(names, 4, 10, now - 5 * 60_000);
    await adapter.sendWhileDown({ relengd, names, messages: missed });
    const since = new Date(now - 3_600_000).toISOString();
    expect(await adapter.replaySince({ relengd, names, since })).toBe(missed.length);

    const all = [...live, ...missed];
    expect(followOnsByCause(relengd.store, REQUESTED)).toEqual(new Map(all.map((m) => [m.id!, 2])));
    expect(inboundIds(relengd.store).sort()).toEqual(all.map((m) => m.id!).sort());

    const count = (table: 'events' | 'jobs') => relengd.store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get();
    const before = { events: count('events'), jobs: count('jobs') };
    expect(await adapter.replaySince({ relengd, names, since })).toBe(missed.length);
    expect({ events: count('events'), jobs: count('jobs') }).toEqual(before);
  });
});
