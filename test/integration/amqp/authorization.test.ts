/**
 * Gating topics are trusted only from their allowlisted publishers, by AMQP `user_id`, which
 * RabbitMQ checks against the connection's user: each message here is published over a connection
 * authenticated as the user it names. The users are added to a throwaway node (private-node.ts),
 * not to the shared broker.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ERROR_HEADER } from '../../../src/bus/amqp/index.ts';
import { fixturesMissingReason, fixturesPresent, loadFixture } from '../../helpers/fixtures.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { drainQueue, plainConnection, testNames, titled, type TestNames } from './broker.ts';
import { publishFedora } from '../../helpers/fedora-wire.ts';
import { startConsuming, storedIds, type Consuming } from './harness.ts';
import { privateNodeForFile } from './private-node.ts';

// Without fixtures, no node is started: it would only be skipped.
const { node, missing: nodeMissing } = fixturesPresent ? await privateNodeForFile() : { node: null, missing: null };
const missing = fixturesPresent ? nodeMissing : fixturesMissingReason;

describe.skipIf(node === null)(titled('publisher allowlist on RabbitMQ', missing), () => {
  const run = randomUUID().slice(0, 8);
  const users = { greenwave: `greenwave-${run}`, mallory: `mallory-${run}` };
  const password = randomUUID();
  const url = node?.url ?? ''; // collected even when skipped
  let names: TestNames;
  let consuming: Consuming | undefined;

  // The node is thrown away after the file: no need to delete the users (or the queues) again.
  beforeAll(async () => {
    for (const user of Object.values(users)) {
      await node!.ctl('add_user', user, password);
      await node!.ctl('set_permissions', '-p', '/', user, '.*', '.*', '.*');
    }
  }, 60_000);
  beforeEach(() => {
    names = testNames('authz');
  });
  afterEach(async () => {
    await consuming?.close();
    consuming = undefined;
  });

  /** The node's URL with another user's credentials. */
  function urlAs(user: string): string {
    const as = new URL(url);
    as.username = user;
    as.password = password;
    return as.toString();
  }

  it('relies on RabbitMQ refusing a user_id other than the connection\'s user', async () => {
    const { connection, channel } = await plainConnection(url);
    try {
      const closed = new Promise<Error>((resolve) => channel.once('error', resolve));
      channel.publish('amq.topic', `${names.prefix}.greenwave.decision.update`, Buffer.from('{}'), { userId: users.greenwave });
      expect((await closed).message).toMatch(/406 \(PRECONDITION-FAILED\).*user_id property set to '[^']+' but authenticated user was '[^']+'/);
    } finally {
      await connection.close();
    }
  });

  it('dead-letters a greenwave decision from a user not on the allowlist as unauthorized and stores the same from an allowed user', async () => {
    consuming = await startConsuming({
      names,
      url,
      dir: tempDir(),
      topics: ['greenwave.decision.update'],
      extraConfig: `publishers:\n  greenwave.decision.update: [${users.greenwave}]\n`,
    });
    const topic = `${names.prefix}.greenwave.decision.update`;
    const body = loadFixture('greenwave.decision.update.4.json').body;
    const ids = { mallory: `gw-mallory-${run}`, greenwave: `gw-greenwave-${run}`, anonymous: `gw-anonymous-${run}` };

    for (const [who, user] of [['mallory', users.mallory], ['greenwave', users.greenwave]] as const) {
      const { connection, channel } = await plainConnection(urlAs(user));
      try {
        await publishFedora(channel, [{ topic, id: ids[who], body, userId: user }]);
      } finally {
        await connection.close();
      }
    }
    const { connection, channel } = await plainConnection(url);
    try {
      // Fedora Messaging sets no user_id: not trusted for an allowlisted topic either.
      await publishFedora(channel, [{ topic, id: ids.anonymous, body }]);
      const transport = consuming.transport;
      await vi.waitFor(() => expect(transport.stats().consumer.acked).toBe(3), { timeout: 10_000, interval: 20 });

      expect(storedIds(consuming.store)).toEqual([ids.greenwave]);
      expect(consuming.store.events.get(ids.greenwave)?.envelope.publisher).toBe(users.greenwave);

      const rejected = consuming.store.rejected.list();
      expect(rejected.map((r) => [r.messageId, r.reason, r.publisher]).sort()).toEqual([
        [ids.anonymous, 'unauthorized', null],
        [ids.mallory, 'unauthorized', users.mallory],
      ]);
      const dead = await drainQueue(channel, names.deadLetter);
      expect(dead.map((m) => [m.properties.messageId, (m.properties.headers?.[ERROR_HEADER] as Record<string, unknown>).reason]).sort()).toEqual([
        [ids.anonymous, 'unauthorized'],
        [ids.mallory, 'unauthorized'],
      ]);
      const fromMallory = dead.find((m) => m.properties.messageId === ids.mallory)!;
      // The copy is relengd's, so it cannot carry mallory's user_id; the error header names him.
      expect(fromMallory.properties.userId).toBeUndefined();
      expect(fromMallory.properties.headers?.[ERROR_HEADER]).toMatchObject({ 'user-id': users.mallory, 'routing-key': topic });
    } finally {
      await connection.close();
    }
  });
});
