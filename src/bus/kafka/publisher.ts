/**
 * Publishing with acknowledgement from every in-sync replica (`acks: -1`). A record counts as
 * published only when the partition leader answered that all in-sync replicas have it; a send that
 * fails after kafkajs's retries (with backoff) is a failed item, which the caller retries (the
 * outbox relay, with backoff) — nothing is dropped.
 *
 * Ordering per key: one request in flight per broker connection (`maxInFlightRequests: 1`), so a
 * retried request cannot overtake the next one; the records of one call go out in order, grouped
 * by topic, and the outbox sends its next batch only after this one was answered. Idempotence is
 * off: librdkafka's mock cluster, which the tests run against, refuses kafkajs's idempotent
 * producer ("Broker 0 not found"). A duplicate from a retried send is harmless downstream: relengd's
 * events carry stable ids (`ce_id`) and its own inbox drops repeats.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from '../../log.ts';
import type { PublishResult } from '../transport.ts';
import type { OutgoingRecord } from './codec.ts';
import { KafkaPublishError } from './errors.ts';

export interface PublisherStats {
  /** Records handed to the producer. */
  published: number;
  /** Acknowledged by all in-sync replicas. */
  acknowledged: number;
  /** Not acknowledged: the send failed after kafkajs's retries, or the producer was not connected. */
  failed: number;
}

export class KafkaPublisher {
  readonly stats: PublisherStats = { published: 0, acknowledged: 0, failed: 0 };
  readonly #producer: Producer;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  #connected = false;
  #outstanding = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(options: { client: Kafka; logger: Logger; ackTimeoutMs: number }) {
    this.#log = options.logger;
    this.#timeoutMs = options.ackTimeoutMs;
    this.#producer = options.client.producer({
      // murmur2 on the key, as the Java client does: a subject lands on the same partition whoever produces it.
      createPartitioner: Partitioners.DefaultPartitioner,
      maxInFlightRequests: 1,
      idempotent: false,
    });
    this.#producer.on(this.#producer.events.CONNECT, () => (this.#connected = true));
    this.#producer.on(this.#producer.events.DISCONNECT, () => (this.#connected = false));
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
    this.#connected = true;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Resolves when no send waits for its acknowledgement (shutdown). */
  idle(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Waits for outstanding sends, then disconnects. */
  async close(): Promise<void> {
    await this.idle();
    await this.#producer.disconnect().catch((error: unknown) => this.#log.debug({ err: error }, 'producer disconnect failed'));
    this.#connected = false;
  }

  /**
   * Sends the records, one request per topic (in parallel across topics, in order within one), and
   * resolves with a result per record, in the order given.
   */
  async publish(records: readonly OutgoingRecord[]): Promise<PublishResult[]> {
    const results: PublishResult[] = new Array<PublishResult>(records.length);
    const byTopic = new Map<string, number[]>();
    records.forEach((r, i) => byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), i]));
    this.#outstanding++;
    try {
      await Promise.all(
        [...byTopic].map(async ([topic, indexes]) => {
          this.stats.published += indexes.length;
          try {
            await this.#producer.send({ topic, acks: -1, timeout: this.#timeoutMs, messages: indexes.map((i) => records[i]!.message) });
            this.stats.acknowledged += indexes.length;
            for (const i of indexes) results[i] = { ok: true };
          } catch (error) {
            this.stats.failed += indexes.length;
            const detail = error instanceof Error ? error.message : String(error);
            for (const i of indexes) results[i] = { ok: false, error: new KafkaPublishError(topic, headerText(records[i]!.message.headers?.ce_id), detail, { cause: error }) };
          }
        }),
      );
    } finally {
      if (--this.#outstanding === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
    return results;
  }
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
