/**
 * Contract (b): a message that cannot be decoded, or breaks its topic's schema, is rejected with
 * its reason (dead-lettered where the transport has a dead letter, answered where it has a sender
 * waiting), kept in the rejected table under the topic and id its wire names, and the consumer
 * goes on with the next message.
 */
import { expect, it, vi } from 'vitest';
import { bodhiMashes, inboundIds } from './harness.ts';
import { forEachTransport, scenarios, transports } from './transports.ts';

forEachTransport('a bad message is rejected with its reason and the consumer keeps going', transports(), (adapter) => {
  const run = scenarios(adapter);

  it('rejects a body that is not JSON and one that breaks the schema, and stores the messages around them', { timeout: 60_000 }, async () => {
    const { names, relengd, bus } = await run.attach('dead', { topics: ['bodhi.compose.complete'] });
    const [before, after] = bodhiMashes(names, 0, 2);
    const topic = `${names.prefix}.bodhi.compose.complete`;
    const undecodable = { topic, id: `not-json-${names.suffix}` };
    const invalid = { topic, id: `bad-schema-${names.suffix}`, body: { repo: 7, success: 'yes' } };
    await bus.send([before!]);
    await bus.sendUndecodable(undecodable);
    await bus.send([invalid]);
    await bus.send([after!]);

    await vi.waitFor(() => expect(relengd.decided()).toBe(4), { timeout: 30_000, interval: 50 });
    expect(inboundIds(relengd.store).sort()).toEqual([before!.id, after!.id].sort());
    const rejected = relengd.store.db.prepare('SELECT message_id AS id, topic, reason, field FROM rejected ORDER BY id').all();
    expect(rejected).toEqual([
      { id: invalid.id, topic, reason: 'schema', field: expect.stringContaining('repo') },
      { id: undecodable.id, topic, reason: 'not-json', field: null },
    ]);
    const byId = (a: { id?: string | undefined }, b: { id?: string | undefined }) => String(a.id).localeCompare(String(b.id));
    await vi.waitFor(async () => expect((await bus.deadLettered()).sort(byId)).toEqual([{ id: invalid.id, reason: 'schema' }, { id: undecodable.id, reason: 'not-json' }]), { timeout: 20_000, interval: 100 });
  });
});
