/**
 * RabbitMQ in the contract: producers publish as Fedora Messaging does (amq.topic, routing key =
 * topic, JSON body, `message_id`, its headers), relengd consumes its quorum queue and publishes
 * with confirms.
 *
 * - Dead letters: the `deadLetter` queue, each copy with an `x-relengd-error` table naming the reason.
 * - Reconnect: the broker closes relengd's connection (`rabbitmqctl close_connection`), which is
 *   done on a throwaway node of the test's own (private-node.ts), never on the shared broker: the
 *   adapter for the shared broker cannot interrupt and says so.
 * - Publish confirms: a queue bound to relengd's topics with `x-max-length: 0` and `x-overflow:
 *   reject-publish` makes the broker nack what relengd publishes.
 * - Replay by time: the RabbitMQ stream (`bus.amqp.stream`) read from a time (`readStream`, what
 *   `relengd replay --from-stream --since` runs).
 */
import type { ConfirmChannel } from 'amqplib';
import { expect, vi } from 'vitest';
import { AmqpTransport, bindingKeysFor, declareTopology, readStream, TOPIC_EXCHANGE } from '../../../src/bus/amqp/index.ts';
import { OutboxRelay } from '../../../src/bus/outbox-relay.ts';
import { systemClock } from '../../../src/clock.ts';
import { withPrefix } from '../../../src/events/topics.ts';
import { silentLogger } from '../../../src/log.ts';
import { catchUp } from '../../../src/pipeline/catch-up.ts';
import { fedoraWire, publishFedora } from '../../helpers/fedora-wire.ts';
import { amqpUrl, brokerMissingReason, deleteTopology, drainQueue, plainConnection } from '../amqp/broker.ts';
import { closeConnectionNamed, type PrivateNode } from '../amqp/private-node.ts';
import { contractRetry, type AttachOptions, type BusUnderTest, type ContractNames, type DeadLetter, type TransportAdapter } from './harness.ts';

/**
 * @param node a throwaway node (needed to interrupt: the broker closing relengd's connection), or
 *   null for the shared broker; `missing` says why there is none.
 */
export function amqpAdapter(o: { node: PrivateNode | null; missing?: string | null } = { node: null }): TransportAdapter {
  const url = o.node?.url ?? amqpUrl;
  const missing = o.missing !== undefined ? o.missing : brokerMissingReason;
  return {
    name: o.node ? 'amqp (RabbitMQ, a node of its own)' : 'amqp (RabbitMQ)',
    missing,
    setup: async () => undefined,
    teardown: async () => undefined,
    busYaml: (names) => `bus: { transport: amqp, amqp: { url: "${url}", queue: ${names.consumer}, deadLetter: ${names.deadLetter}, stream: ${names.stream}, streamMaxAge: 1h } }`,
    attach: (a) => attach(a, url, o.node),
    async sendWhileDown({ relengd, names, messages }) {
      const { connection, channel } = await plainConnection(url);
      try {
        // Declared as relengd declares it (it is down, but was up before): the queue and the stream keep what is published.
        const amqp = relengd.config.bus.amqp;
        const topics = [...new Set(messages.map((m) => m.topic))];
        await declareTopology(channel, { queue: amqp.queue, deadLetter: amqp.deadLetter, deliveryLimit: amqp.deliveryLimit, bindingKeys: topics, stream: { name: names.stream, maxAge: amqp.streamMaxAge } });
        await publishFedora(channel, messages);
      } finally {
        await connection.close();
      }
    },
    async replaySince({ relengd, since }) {
      const logger = silentLogger();
      const report = await catchUp((each) => readStream({ config: relengd.config.bus.amqp, since, logger }, each).then(() => undefined), { intake: relengd.intake, store: relengd.store, dispatcher: relengd.dispatcher });
      return report.committed + report.duplicate + report.rejected + report.dropped + report.failed;
    },
    async cleanUp(names) {
      await deleteTopology({ queue: names.consumer, deadLetter: names.deadLetter }, url);
      const { connection, channel } = await plainConnection(url);
      await channel.deleteQueue(names.stream).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

async function attach(o: AttachOptions, url: string, node: PrivateNode | null): Promise<BusUnderTest> {
  const { relengd, names } = o;
  const connectionName = `relengd-contract ${names.consumer}`;
  let outbox: OutboxRelay | undefined;
  const transport = new AmqpTransport({
    config: { ...relengd.config.bus.amqp, url, prefetch: 20, heartbeatSeconds: 5 },
    topicPrefix: names.prefix,
    bindingKeys: bindingKeysFor(o.topics, names.prefix),
    logger: silentLogger(),
    retry: contractRetry,
    connectionName,
    confirmTimeoutMs: 10_000,
    onReady: () => outbox?.schedule(),
  });
  outbox = new OutboxRelay({ store: relengd.store, transport, clock: systemClock, logger: silentLogger(), retry: contractRetry });

  // The test's own connection: producing, reading what relengd published, the dead-letter queue.
  const { connection, channel } = await plainConnection(url);
  const published = new Set<string>();
  const { queue: watchQueue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  for (const topic of o.watch ?? []) await channel.bindQueue(watchQueue, TOPIC_EXCHANGE, withPrefix(topic, names.prefix));
  await channel.consume(watchQueue, (m) => m && published.add(String(m.properties.messageId)), { noAck: true });
  await transport.start(relengd.accept);
  const deadLetters: DeadLetter[] = [];

  return {
    transport,
    outbox,
    send: (messages) => publishFedora(channel, messages),
    async sendUndecodable({ topic, id }) {
      const wire = fedoraWire({ topic, id, body: {} });
      channel.publish(TOPIC_EXCHANGE, wire.routingKey, Buffer.from('{"repo": '), wire.options);
      await channel.waitForConfirms();
    },
    async deadLettered() {
      for (const m of await drainQueue(channel, names.deadLetter)) {
        const why = m.properties.headers?.['x-relengd-error'] as { reason?: unknown } | undefined;
        deadLetters.push({ id: m.properties.messageId as string | undefined, reason: String(why?.reason) });
      }
      return [...deadLetters];
    },
    published: async () => published,
    async interrupt() {
      if (!node) throw new TypeError('the shared broker is not ours to close connections on: give the adapter a private node');
      await closeConnectionNamed(node, connectionName, 'relengd contract test: closing the connection mid-stream');
      await vi.waitFor(() => expect(transport.stats().reconnects).toBe(1), { timeout: 20_000, interval: 10 });
    },
    async expectInterrupted() {
      const stats = transport.stats();
      expect(stats.reconnects).toBe(1);
      // The held batch was stored but not acked when the connection went: it came back, a duplicate.
      expect(stats.consumer.unsettled).toBeGreaterThan(0);
      expect(stats.consumer.duplicate).toBeGreaterThan(0);
    },
    async refusePublishing() {
      await refuseOn(channel, names, o.watch ?? []);
    },
    async stop() {
      outbox.stop();
      await transport.stop();
      await connection.close().catch(() => undefined);
    },
  };
}

/** A queue that takes nothing, bound to relengd's topics: the broker nacks every publish routed to it. */
async function refuseOn(channel: ConfirmChannel, names: ContractNames, topics: readonly string[]): Promise<void> {
  const { queue } = await channel.assertQueue('', { exclusive: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
  for (const topic of topics) await channel.bindQueue(queue, TOPIC_EXCHANGE, withPrefix(topic, names.prefix));
}
