/**
 * Every recorded Fedora message, published the way Fedora Messaging publishes it, goes through a
 * real RabbitMQ into the store exactly once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { idOfIdLessMessage } from '../../../src/events/ids.ts';
import { splitTopic } from '../../../src/events/topics.ts';
import { GATING_TOPICS } from '../../../src/trust.ts';
import { fixturesMissingReason, fixturesPresent, loadFixtures } from '../../helpers/fixtures.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { brokerMissingReason, deleteTopology, plainConnection, readyCount, testNames, titled, type TestNames } from './broker.ts';
import { fedoraWire, fromFixture, publishFedora } from '../../helpers/fedora-wire.ts';
import { startConsuming, type Consuming } from './harness.ts';

const missing = brokerMissingReason ?? (fixturesPresent ? null : fixturesMissingReason);

describe.skipIf(missing !== null)(titled('Fedora fixtures over RabbitMQ', missing), () => {
  let names: TestNames;
  let consuming: Consuming | undefined;
  beforeEach(() => {
    names = testNames('fixtures');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
    await deleteTopology(names);
  });

  it('stores every fixture once with its id, topic and prefix, and acks the second copy as a duplicate', async () => {
    const fixtures = loadFixtures();
    // Gating facts (Greenwave's, ResultsDB's, a signer's replies) count only from their configured
    // publishers: they are published as the broker user the config names for them (RabbitMQ checks user_id).
    const gating = GATING_TOPICS;
    const messages = fixtures.map(fromFixture).map((m) => (gating.has(splitTopic(m.topic, 'org.fedoraproject.prod').name) ? { ...m, userId: 'guest' } : m));
    const topics = [...new Set(fixtures.map((f) => f.topic))];
    const extraConfig = `publishers:\n${[...gating].map((topic) => `  ${topic}: [guest]\n`).join('')}`;
    consuming = await startConsuming({ names, dir: tempDir(), topics: [], bindings: topics, topicPrefix: 'org.fedoraproject.prod', extraConfig });
    const { connection, channel } = await plainConnection();
    try {
      await publishFedora(channel, [...messages, ...messages]);
      const transport = consuming.transport;
      await vi.waitFor(() => {
        const s = transport.stats().consumer;
        expect(s.acked).toBeGreaterThanOrEqual(2 * fixtures.length);
      }, { timeout: 20_000, interval: 50 });
      expect(await readyCount(channel, names.queue)).toBe(0);
    } finally {
      await connection.close();
    }

    const store = consuming.store;
    // Ids are the inbox key: fixtures that share an id (three 2015 pungi captures do) are one event,
    // filed under the first of them published.
    const firstById = new Map<string, (typeof messages)[number]>();
    for (const m of messages) {
      const id = m.id ?? idOfIdLessMessage(m.topic, m.body);
      if (!firstById.has(id)) firstById.set(id, m);
    }
    for (const [id, first] of firstById) {
      const rows = store.db.prepare('SELECT topic, prefix, transport, known FROM events WHERE id = ?').all(id) as Array<Record<string, unknown>>;
      const { prefix, name } = splitTopic(first.topic, 'org.fedoraproject.prod');
      expect(rows, `${first.topic} ${id}`).toEqual([{ topic: name, prefix, transport: 'amqp', known: expect.any(Number) }]);
      // The body is kept byte for byte, and its data is the body as received.
      expect(Buffer.from(store.events.raw(id)!).equals(fedoraWire(first).content), `${first.topic} raw bytes`).toBe(true);
      expect(store.events.get(id)?.envelope.data).toEqual(first.body);
    }
    expect(store.rejected.count()).toBe(0);
    const stats = consuming.transport.stats().consumer;
    expect(stats.committed).toBe(firstById.size);
    expect(stats.duplicate).toBe(2 * fixtures.length - firstById.size);
  });
});
