/**
 * What relengd declares on the broker. Every declaration is idempotent and runs again after each
 * reconnect (a restarted broker, or an operator who deleted something, gets it back).
 *
 * ```
 * amq.topic --<binding keys>--> <queue>  quorum, durable, x-delivery-limit, DLX = <deadLetter>
 *                                  | rejected by relengd (copy + ack) or past the delivery limit (broker)
 *                                  v
 *                      <deadLetter> exchange (fanout) --> <deadLetter> queue (quorum, durable)
 * ```
 *
 * Poison messages: a quorum queue counts returns of each message (`x-delivery-count`); once the
 * count passes `x-delivery-limit`, the broker dead-letters the message itself (`x-death` reason
 * `delivery_limit`). The consumer acts one delivery earlier when it can (see consumer.ts), so the
 * broker's limit is the backstop for a consumer that keeps dying with the message in hand.
 * Dead-lettering is `at-least-once` (RabbitMQ 3.10+): the broker keeps a dead-lettered message
 * until the dead-letter queue confirmed it, which requires `x-overflow: reject-publish`.
 *
 * Bindings are only ever added: a key removed from the configuration stays bound until an
 * operator unbinds it (AMQP 0-9-1 cannot list bindings).
 */
import type { Channel } from 'amqplib';
import { withPrefix } from '../../events/topics.ts';

/** Fedora Messaging publishes everything here, with the topic as routing key. */
export const TOPIC_EXCHANGE = 'amq.topic';

export interface TopologySpec {
  /** The consumed queue. */
  queue: string;
  /** Name of both the dead-letter exchange and the dead-letter queue. */
  deadLetter: string;
  /** Deliveries of one message before the broker dead-letters it. */
  deliveryLimit: number;
  /** Keys the queue is bound with on amq.topic. */
  bindingKeys: readonly string[];
  /** A RabbitMQ stream bound with the same keys: history that `relengd replay --from-stream` reads by time. */
  stream?: { name: string; maxAge: string } | undefined;
}

/** Arguments of the consumed queue. A queue that exists with other arguments fails the declare (406). */
export function queueArguments(spec: Pick<TopologySpec, 'deadLetter' | 'deliveryLimit'>): Record<string, string | number> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': spec.deliveryLimit,
    'x-dead-letter-exchange': spec.deadLetter,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/** Declares the dead-letter exchange and queue, the consumed queue and its bindings. */
export async function declareTopology(channel: Channel, spec: TopologySpec): Promise<void> {
  await channel.assertExchange(spec.deadLetter, 'fanout', { durable: true, autoDelete: false });
  await channel.assertQueue(spec.deadLetter, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(spec.deadLetter, spec.deadLetter, '');
  await channel.assertQueue(spec.queue, { durable: true, arguments: queueArguments(spec) });
  for (const key of spec.bindingKeys) await channel.bindQueue(spec.queue, TOPIC_EXCHANGE, key);
  if (spec.stream) {
    await channel.assertQueue(spec.stream.name, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': spec.stream.maxAge } });
    for (const key of spec.bindingKeys) await channel.bindQueue(spec.stream.name, TOPIC_EXCHANGE, key);
  }
}

/**
 * The binding keys for the listeners' topic patterns: each with the deployment prefix and without
 * it (inbound topics match either way), plus the configured extra keys; no duplicates.
 */
export function bindingKeysFor(patterns: readonly string[], topicPrefix: string, extra: readonly string[] = []): string[] {
  const keys = new Set<string>();
  for (const pattern of patterns) {
    keys.add(pattern);
    if (topicPrefix) keys.add(withPrefix(pattern, topicPrefix));
  }
  for (const key of extra) keys.add(key);
  return [...keys];
}
