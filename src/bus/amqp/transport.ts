import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { systemClock, type Clock } from '../../clock.ts';
import type { AmqpConfig } from '../../config/index.ts';
import type { MessageRejectedError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { defaultRetry, type RetryPolicy } from '../../retry.ts';
import { BACKLOG_MAX_AGE_MS, Refreshed } from '../refreshed.ts';
import type { DeliverBatch, PublishItem, PublishResult, Transport } from '../transport.ts';
import { deadLetterCopy, encode, TRANSPORT_NAME, type AmqpMessage } from './codec.ts';
import { ConnectionKeeper, openConnection, redactUrl } from './connection.ts';
import { BatchConsumer, type ConsumerStats } from './consumer.ts';
import { ConfirmPublisher, type PublisherStats } from './publisher.ts';
import { declareTopology, TOPIC_EXCHANGE } from './topology.ts';

export interface AmqpTransportOptions {
  config: AmqpConfig;
  /** The deployment prefix (`topicPrefix`); routing keys of published items already carry it. */
  topicPrefix: string;
  /** Keys the queue is bound with on amq.topic, already expanded (see `bindingKeysFor`). */
  bindingKeys: readonly string[];
  logger: Logger;
  clock?: Clock | undefined;
  /** Backoff for reconnects and for the pause before requeueing. @default defaultRetry */
  retry?: RetryPolicy | undefined;
  /** Called each time the transport is consuming again (after `start` and after every reconnect): resume the outbox. */
  onReady?: (() => void) | undefined;
  /** Connection name shown by the broker. @default `relengd <queue>` */
  connectionName?: string | undefined;
  /** A publish not confirmed within this time fails (and is retried by the outbox). @default 30000 */
  confirmTimeoutMs?: number | undefined;
}

export interface AmqpTransportStats {
  connected: boolean;
  consuming: boolean;
  /** Connections made after the first one. */
  reconnects: number;
  consumer: Readonly<ConsumerStats>;
  publisher: Readonly<PublisherStats>;
}

/**
 * RabbitMQ, wire-compatible with Fedora Messaging. Consumes the configured quorum queue in batches
 * (see consumer.ts), publishes on a confirm channel (publisher.ts), declares its queues again and
 * resubscribes after every reconnect (connection.ts, topology.ts).
 */
export class AmqpTransport implements Transport {
  readonly name = TRANSPORT_NAME;
  readonly #o: AmqpTransportOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #publisher: ConfirmPublisher;
  #consumer: BatchConsumer | null = null;
  #keeper: ConnectionKeeper | null = null;
  #reconnects = 0;
  #stopping: Promise<void> | null = null;
  /** The consuming channel while connected: asked how many messages wait in the queue. */
  #queueChannel: Channel | null = null;
  readonly #backlog: Refreshed<number | null>;

  constructor(options: AmqpTransportOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'bus.amqp' });
    this.#clock = options.clock ?? systemClock;
    this.#publisher = new ConfirmPublisher({ logger: this.#log, confirmTimeoutMs: options.confirmTimeoutMs ?? 30_000 });
    this.#backlog = new Refreshed(() => this.#readyMessages(), { maxAgeMs: BACKLOG_MAX_AGE_MS, nowMs: () => this.#clock.now().getTime() });
  }

  /** Connects, declares, subscribes; resolves once consuming. Rejects when the broker refuses us (403, 406, 530). */
  async start(deliver: DeliverBatch): Promise<void> {
    if (this.#keeper) throw new TypeError('amqp transport already started');
    const { config } = this.#o;
    const retry = this.#o.retry ?? defaultRetry;
    const consumer = new BatchConsumer({
      queue: config.queue,
      prefetch: config.prefetch,
      deliveryLimit: config.deliveryLimit,
      deliver,
      deadLetter: (msg, error) => this.#deadLetter(msg, error),
      onCancelled: () => {
        const connection = this.#keeper?.current;
        if (connection) this.#keeper?.recycle(connection, 'consumer cancelled by the broker');
      },
      retry,
      logger: this.#log,
    });
    this.#consumer = consumer;
    const keeper = new ConnectionKeeper({
      open: () => openConnection({ config, connectionName: this.#o.connectionName ?? `relengd ${config.queue}` }),
      setup: (connection) => this.#setup(connection, consumer),
      onUp: ({ reconnect, attempt }) => {
        if (reconnect) this.#reconnects++;
        this.#log.info({ url: redactUrl(config.url), queue: config.queue, reconnect, attempt }, reconnect ? 'reconnected; consuming again' : 'connected; consuming');
        try {
          this.#o.onReady?.();
        } catch (error) {
          this.#log.error({ err: error }, 'onReady failed');
        }
      },
      onDown: () => {
        this.#queueChannel = null;
        consumer.detach();
        this.#publisher.detach();
      },
      retry,
      logger: this.#log,
    });
    this.#keeper = keeper;
    await keeper.start();
  }

  async #setup(connection: ChannelModel, consumer: BatchConsumer): Promise<void> {
    const { config } = this.#o;
    const consumeChannel = await connection.createChannel();
    const publishChannel = await connection.createConfirmChannel();
    for (const [role, channel] of [['consume', consumeChannel], ['publish', publishChannel]] as const) {
      channel.on('error', (error: Error) => this.#log.warn({ err: error, channel: role }, 'channel error'));
      channel.on('close', () => {
        // A channel closed while its connection lives (e.g. the broker closed it for a protocol
        // error): start over on a new connection rather than run half-deaf.
        if (this.#stopping === null) this.#keeper?.recycle(connection, `${role} channel closed`);
      });
    }
    await declareTopology(consumeChannel, {
      queue: config.queue,
      deadLetter: config.deadLetter,
      deliveryLimit: config.deliveryLimit,
      bindingKeys: this.#o.bindingKeys,
      stream: config.stream ? { name: config.stream, maxAge: config.streamMaxAge } : undefined,
    });
    this.#publisher.attach(publishChannel);
    await consumer.attach(consumeChannel);
    this.#queueChannel = consumeChannel;
  }

  /** Messages ready in relengd's queue (not yet delivered to it; at most `prefetch` more are in hand). */
  backlog(): Promise<number | null> {
    return this.#backlog.get();
  }

  /** A passive declare on the consuming channel: the queue exists (relengd declared it), so it cannot fail the channel unless the queue was deleted, which the consumer hears about anyway. */
  async #readyMessages(): Promise<number | null> {
    const channel = this.#queueChannel;
    if (!channel || this.#stopping !== null) return null;
    try {
      return (await channel.checkQueue(this.#o.config.queue)).messageCount;
    } catch (error) {
      this.#log.debug({ err: error }, 'cannot read the queue depth');
      return null;
    }
  }

  async publish(items: readonly PublishItem[]): Promise<PublishResult[]> {
    // Not mandatory: like Fedora Messaging, an event no queue is bound to is published to nobody,
    // not an error to retry forever (relengd does not bind its own events to its own queue).
    const messages: AmqpMessage[] = items.map((item) => {
      const encoded = encode(item.envelope);
      return { exchange: TOPIC_EXCHANGE, routingKey: item.routingKey, content: encoded.content, options: { ...encoded.options, mandatory: false } };
    });
    return this.#publisher.publish(messages);
  }

  async #deadLetter(msg: ConsumeMessage, error: MessageRejectedError): Promise<boolean> {
    try {
      const copy = deadLetterCopy(msg, error, { exchange: this.#o.config.deadLetter, rejectedAt: this.#clock.now().toISOString() });
      const [result] = await this.#publisher.publish([copy]);
      if (result && !result.ok) this.#log.warn({ err: result.error, msgId: copy.options.messageId }, 'dead-letter copy failed');
      return result?.ok === true;
    } catch (e) {
      this.#log.warn({ err: e }, 'dead-letter copy failed');
      return false;
    }
  }

  isReady(): boolean {
    return (this.#keeper?.connected ?? false) && (this.#consumer?.consuming ?? false) && this.#publisher.attached && this.#stopping === null;
  }

  stats(): AmqpTransportStats {
    return {
      connected: this.#keeper?.connected ?? false,
      consuming: this.#consumer?.consuming ?? false,
      reconnects: this.#reconnects,
      consumer: { ...(this.#consumer?.stats ?? emptyConsumerStats()) },
      publisher: { ...this.#publisher.stats },
    };
  }

  /** Stops consuming, finishes and settles the deliveries in hand, waits for outstanding confirms, closes. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const keeper = this.#keeper;
      if (!keeper) return;
      await keeper.stopReconnecting();
      await this.#consumer?.stop();
      await this.#publisher.close();
      await keeper.close();
      this.#log.info({ stats: this.stats() }, 'stopped');
    })();
    return this.#stopping;
  }
}

function emptyConsumerStats(): ConsumerStats {
  return { received: 0, batches: 0, committed: 0, duplicate: 0, dropped: 0, rejected: 0, poison: 0, deadLettered: 0, deadLetterFailed: 0, retryLater: 0, acked: 0, requeued: 0, unsettled: 0 };
}
