import type { Admin, Kafka } from 'kafkajs';
import { systemClock, type Clock } from '../../clock.ts';
import type { KafkaConfig } from '../../config/index.ts';
import type { MessageRejectedError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { defaultRetry, retry, type RetryPolicy } from '../../retry.ts';
import { BACKLOG_MAX_AGE_MS, Refreshed } from '../refreshed.ts';
import type { DeliverBatch, PublishItem, PublishResult, Transport } from '../transport.ts';
import { deadLetterCopy, encode, TRANSPORT_NAME, type WireRecord } from './codec.ts';
import { createClient } from './connection.ts';
import { BatchConsumer, emptyConsumerStats, type ConsumerStats } from './consumer.ts';
import { KafkaTransportError } from './errors.ts';
import { KafkaPublisher, type PublisherStats } from './publisher.ts';
import { isRefusal } from './refusals.ts';
import { prepareTopics, resolveTopics, topicsFor } from './topology.ts';

export interface KafkaTransportOptions {
  config: KafkaConfig;
  /** The deployment prefix (`topicPrefix`); topics of published items already carry it. */
  topicPrefix: string;
  /**
   * Bare topic patterns to consume (the listeners', already filtered by `bindFromOutside`): each is
   * subscribed with and without the prefix, plus `config.topics` (see topology.ts).
   */
  patterns: readonly string[];
  logger: Logger;
  clock?: Clock | undefined;
  /** Backoff for connecting, for kafkajs's request retries and for the pause before fetching a record again. @default defaultRetry */
  retry?: RetryPolicy | undefined;
  /** Called each time the transport is consuming again (after `start` and after every rejoin): resume the outbox. */
  onReady?: (() => void) | undefined;
  /** A publish not acknowledged within this time fails (and is retried by the outbox). @default 30000 */
  ackTimeoutMs?: number | undefined;
  /** Consumer-group session timeout. @default 30000 */
  sessionTimeoutMs?: number | undefined;
  /** Where `sasl.passwordEnv` is read. @default process.env */
  env?: Record<string, string | undefined> | undefined;
}

export interface KafkaTransportStats {
  consuming: boolean;
  /** Kafka topics subscribed, and those wanted but missing on the cluster at start. */
  topics: { subscribed: readonly string[]; missing: readonly string[] };
  consumer: Readonly<ConsumerStats>;
  publisher: Readonly<PublisherStats>;
}

/**
 * Kafka, with the CloudEvents Kafka binding (codec.ts). Consumes in a consumer group, storing each
 * fetched batch in one transaction and committing its offsets after that (consumer.ts); publishes
 * with `acks: -1` (publisher.ts). Reconnecting, retries and rejoining are kafkajs's (connection.ts).
 */
export class KafkaTransport implements Transport {
  readonly name = TRANSPORT_NAME;
  readonly #o: KafkaTransportOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #retry: RetryPolicy;
  readonly #client: Kafka;
  readonly #publisher: KafkaPublisher;
  readonly #abort = new AbortController();
  #consumer: BatchConsumer | null = null;
  #started = false;
  /** Nothing to subscribe to (no wanted topic exists): ready for publishing only. */
  #nothingToConsume = false;
  #topics: KafkaTransportStats['topics'] = { subscribed: [], missing: [] };
  #stopping: Promise<void> | null = null;
  /** Connected on the first `backlog` read, kept for the next ones. */
  #admin: Promise<Admin> | null = null;
  readonly #backlog: Refreshed<number | null>;

  /** @throws ConfigError when a TLS file or the SASL password cannot be read. */
  constructor(options: KafkaTransportOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'bus.kafka' });
    this.#clock = options.clock ?? systemClock;
    this.#retry = options.retry ?? defaultRetry;
    this.#client = createClient({ config: options.config, logger: this.#log, retry: this.#retry, env: options.env });
    this.#publisher = new KafkaPublisher({ client: this.#client, logger: this.#log, ackTimeoutMs: options.ackTimeoutMs ?? 30_000 });
    this.#backlog = new Refreshed(() => this.#lag(), { maxAgeMs: BACKLOG_MAX_AGE_MS, nowMs: () => this.#clock.now().getTime() });
  }

  /**
   * Reads the cluster's topics (creating the dead-letter topic when missing), connects the
   * producer, joins the consumer group; resolves once joined. Retries with backoff until the
   * cluster answers or `stop` is called; a consumer that crashes while joining is restarted
   * (consumer.ts). Rejects, not retriable, when the cluster refuses relengd's credentials,
   * permissions or settings (refusals.ts).
   */
  async start(deliver: DeliverBatch): Promise<void> {
    if (this.#started) throw new TypeError('kafka transport already started');
    this.#started = true;
    const { config } = this.#o;
    const existing = await retry(() => this.#prepare(), this.#retry, {
      signal: this.#abort.signal,
      onRetry: (error, attempt, delayMs) => this.#log.warn({ err: error, attempt, delayMs }, 'cannot reach the Kafka cluster; retrying'),
    });
    const wanted = topicsFor(this.#o.patterns, this.#o.topicPrefix, config.topics);
    const { subscribe, missing } = resolveTopics(wanted, existing, [config.deadLetter]);
    this.#topics = { subscribed: subscribe, missing };
    if (missing.length > 0) this.#log.info({ missing }, 'topics not on the cluster are not consumed until they exist and relengd restarts');
    if (subscribe.length === 0) {
      this.#nothingToConsume = true;
      this.#log.warn({ wanted: wanted.names }, 'none of the topics to consume exists on the cluster: publishing only');
      this.#ready();
      return;
    }
    const consumer = new BatchConsumer({
      client: this.#client,
      groupId: config.groupId,
      topics: subscribe,
      fromBeginning: config.fromBeginning,
      deliveryLimit: config.deliveryLimit,
      deliver,
      deadLetter: (record, error, count) => this.#deadLetter(record, error, count),
      onJoined: () => this.#ready(),
      retry: this.#retry,
      logger: this.#log,
      kafkaRetry: { retries: 8, initialRetryTime: this.#retry.initialMs, maxRetryTime: this.#retry.maxMs },
      sessionTimeoutMs: this.#o.sessionTimeoutMs,
    });
    this.#consumer = consumer;
    try {
      await consumer.start();
    } catch (error) {
      // Refused (or stopped): leave no connection behind, so a daemon that fails to start exits.
      await this.stop();
      throw error;
    }
    this.#log.info({ brokers: config.brokers, groupId: config.groupId, topics: subscribe.length }, 'consuming');
  }

  /** The cluster's topics, the dead-letter topic made sure of, the producer connected. */
  async #prepare(): Promise<string[]> {
    if (this.#abort.signal.aborted) throw new KafkaTransportError('stopped', { retriable: false });
    const admin = this.#client.admin();
    try {
      await admin.connect();
      const prepared = await prepareTopics(admin, this.#o.config.deadLetter);
      if (!prepared.deadLetterReady) this.#log.warn({ err: prepared.error, topic: this.#o.config.deadLetter }, 'cannot create the dead-letter topic; dead letters will fail until it exists (unless the cluster auto-creates it)');
      await this.#publisher.connect();
      return prepared.existing;
    } catch (error) {
      const brokers = this.#o.config.brokers.join(',');
      const why = error instanceof Error ? error.message : String(error);
      // Wrong credentials, a missing ACL, an untrusted certificate: start fails with the reason instead of retrying.
      if (isRefusal(error)) throw new KafkaTransportError(`the Kafka cluster at ${brokers} refused relengd: ${why}`, { retriable: false, cause: error });
      throw new KafkaTransportError(`cannot reach the Kafka cluster at ${brokers}: ${why}`, { cause: error });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  #ready(): void {
    try {
      this.#o.onReady?.();
    } catch (error) {
      this.#log.error({ err: error }, 'onReady failed');
    }
  }

  async publish(items: readonly PublishItem[]): Promise<PublishResult[]> {
    return this.#publisher.publish(items.map((item) => encode(item.envelope, item.routingKey)));
  }

  async #deadLetter(record: WireRecord, error: MessageRejectedError, deliveryCount: number): Promise<boolean> {
    try {
      const copy = deadLetterCopy(record, error, { topic: this.#o.config.deadLetter, rejectedAt: this.#clock.now().toISOString(), deliveryCount });
      const [result] = await this.#publisher.publish([copy]);
      if (result && !result.ok) this.#log.warn({ err: result.error, topic: record.topic, offset: record.message.offset }, 'dead-letter copy failed');
      return result?.ok === true;
    } catch (e) {
      this.#log.warn({ err: e }, 'dead-letter copy failed');
      return false;
    }
  }

  isReady(): boolean {
    return this.#stopping === null && this.#publisher.connected && (this.#nothingToConsume || (this.#consumer?.consuming ?? false));
  }

  /** The consumer group's lag: records up to each partition's high watermark after its committed offset. */
  backlog(): Promise<number | null> {
    return this.#backlog.get();
  }

  async #lag(): Promise<number | null> {
    if (this.#stopping !== null) return null;
    if (this.#nothingToConsume) return 0;
    if (!this.#consumer?.consuming) return null;
    try {
      const admin = await (this.#admin ??= this.#connectAdmin());
      const { groupId, fromBeginning } = this.#o.config;
      const committed = await admin.fetchOffsets({ groupId, topics: [...this.#topics.subscribed] });
      let lag = 0;
      for (const { topic, partitions } of committed) {
        for (const end of await admin.fetchTopicOffsets(topic)) {
          const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
          // Nothing committed yet: the group starts at the beginning or at the end, as configured.
          const from = offset >= 0 ? offset : fromBeginning ? Number(end.low) : Number(end.high);
          lag += Math.max(0, Number(end.high) - from);
        }
      }
      return lag;
    } catch (error) {
      this.#log.debug({ err: error }, 'cannot read the consumer lag');
      return null;
    }
  }

  async #connectAdmin(): Promise<Admin> {
    const admin = this.#client.admin();
    try {
      await admin.connect();
      return admin;
    } catch (error) {
      this.#admin = null; // the next read tries again
      throw error;
    }
  }

  stats(): KafkaTransportStats {
    return {
      consuming: this.#consumer?.consuming ?? false,
      topics: this.#topics,
      consumer: { ...(this.#consumer?.stats ?? emptyConsumerStats()) },
      publisher: { ...this.#publisher.stats },
    };
  }

  /** Stops consuming (the batch in hand is finished and committed), waits for outstanding acknowledgements, disconnects. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      await this.#consumer?.stop();
      await this.#publisher.close();
      await this.#admin?.then((admin) => admin.disconnect()).catch(() => undefined);
      this.#log.info({ stats: this.stats() }, 'stopped');
    })();
    return this.#stopping;
  }
}
