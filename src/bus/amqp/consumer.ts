/**
 * Consuming with manual acks. Deliveries that arrive together (same turn of the event loop, at
 * most `prefetch`) form one batch: decoded, handed to `deliver` (the intake stores the batch in one
 * transaction), then settled by outcome in one place:
 *
 * | outcome     | broker verb                                                            |
 * |-------------|------------------------------------------------------------------------|
 * | committed   | ack                                                                    |
 * | duplicate   | ack                                                                    |
 * | rejected    | copy to the dead-letter exchange with `x-relengd-error`; ack once the  |
 * |             | broker confirmed the copy (requeue if it did not)                      |
 * | retry-later | requeue (nack), after a backoff pause: the usual cause is the store    |
 *
 * Batches run one after another, and nothing is settled before `deliver` resolved, so a batch that
 * is all acks is acked with one `multiple` ack. A delivery whose channel closed meanwhile is not
 * settled: the broker redelivers it and the inbox answers `duplicate`.
 *
 * Poison: a message that keeps coming back as retry-later is, on its last delivery before the
 * quorum queue's `x-delivery-limit`, handed to `deliver` once more as a `poison` rejection, so it is
 * kept in the rejected table and dead-lettered with the reason like any bad message. If even that
 * cannot be stored, it is requeued and the broker dead-letters it by itself (`x-death` reason
 * `delivery_limit`, no `x-relengd-error`). A bad message never stops the consumer.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { MessageRejectedError, RejectReason } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Delivery, Outcome } from '../../pipeline/intake.ts';
import { backoffDelay, sleep, type RetryPolicy } from '../../retry.ts';
import type { DeliverBatch } from '../transport.ts';
import { decode } from './codec.ts';

export interface ConsumerStats {
  received: number;
  batches: number;
  committed: number;
  duplicate: number;
  /** relengd's own topics from outside (another instance on a shared broker), acked without a trace. */
  dropped: number;
  rejected: number;
  /** Rejections that were poison (retry-later until the delivery limit). */
  poison: number;
  deadLettered: number;
  deadLetterFailed: number;
  retryLater: number;
  acked: number;
  requeued: number;
  /** Left unsettled because their channel closed; the broker redelivers them. */
  unsettled: number;
}

export interface ConsumerOptions {
  queue: string;
  prefetch: number;
  /** The queue's `x-delivery-limit`. */
  deliveryLimit: number;
  deliver: DeliverBatch;
  /** Copies a rejected message to the dead-letter exchange; true once the broker confirmed the copy. Never throws. */
  deadLetter: (msg: ConsumeMessage, error: MessageRejectedError) => Promise<boolean>;
  /** The broker cancelled the consumer (queue deleted): the transport reconnects, which declares again. */
  onCancelled: () => void;
  /** Pause before requeueing retry-later deliveries, by delivery count. */
  retry: RetryPolicy;
  logger: Logger;
}

type Verb = 'ack' | 'requeue';

interface Received {
  channel: Channel;
  msg: ConsumeMessage;
}

export class BatchConsumer {
  readonly stats: ConsumerStats = {
    received: 0, batches: 0, committed: 0, duplicate: 0, dropped: 0, rejected: 0, poison: 0,
    deadLettered: 0, deadLetterFailed: 0, retryLater: 0, acked: 0, requeued: 0, unsettled: 0,
  };
  readonly #o: ConsumerOptions;
  readonly #log: Logger;
  #channel: Channel | null = null;
  #consumerTag: string | null = null;
  #pending: Received[] = [];
  #scheduled = false;
  #running: Promise<void> | null = null;
  #pause = new AbortController();

  constructor(options: ConsumerOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** Starts consuming on this channel (a new one after each reconnect). */
  async attach(channel: Channel): Promise<void> {
    this.#pending = [];
    this.#pause = new AbortController();
    this.#channel = channel;
    channel.on('close', () => {
      if (this.#channel === channel) this.detach();
    });
    await channel.prefetch(this.#o.prefetch);
    const { consumerTag } = await channel.consume(this.#o.queue, (msg) => this.#onMessage(channel, msg), { noAck: false });
    this.#consumerTag = consumerTag;
  }

  /** The channel is gone: what was received but not processed is redelivered by the broker. */
  detach(): void {
    this.#channel = null;
    this.#consumerTag = null;
    this.stats.unsettled += this.#pending.length;
    this.#pending = [];
  }

  get consuming(): boolean {
    return this.#channel !== null && this.#consumerTag !== null;
  }

  /**
   * Stops consuming, finishes and settles what was already received, and closes the channel. The
   * channel is closed before the connection on purpose: amqplib writes `connection.close` ahead of
   * frames still buffered on a channel, so acks sent just before closing the connection are lost
   * (and the messages redelivered); `channel.close` is queued behind them.
   */
  async stop(): Promise<void> {
    const channel = this.#channel;
    const tag = this.#consumerTag;
    this.#consumerTag = null;
    this.#pause.abort();
    if (channel && tag) await channel.cancel(tag).catch((error: unknown) => this.#log.debug({ err: error }, 'cancel failed; channel already gone'));
    await this.idle();
    this.#channel = null;
    if (channel) await channel.close().catch((error: unknown) => this.#log.debug({ err: error }, 'close failed; channel already gone'));
  }

  /** Resolves when nothing received is left unprocessed. */
  async idle(): Promise<void> {
    while (this.#running || this.#scheduled) await (this.#running ?? new Promise<void>((resolve) => setImmediate(resolve)));
  }

  #onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      if (this.#channel === channel) {
        this.#consumerTag = null;
        this.#log.warn({ queue: this.#o.queue }, 'consumer cancelled by the broker');
        this.#o.onCancelled();
      }
      return;
    }
    if (this.#channel !== channel) return;
    this.stats.received++;
    this.#pending.push({ channel, msg });
    if (!this.#scheduled && !this.#running) {
      this.#scheduled = true;
      setImmediate(() => this.#pump());
    }
  }

  #pump(): void {
    this.#scheduled = false;
    if (this.#running) return;
    this.#running = (async () => {
      while (this.#pending.length > 0) {
        const channel = this.#pending[0]!.channel;
        let n = 0;
        while (n < this.#pending.length && n < this.#o.prefetch && this.#pending[n]!.channel === channel) n++;
        const batch = this.#pending.splice(0, n).map((r) => r.msg);
        await this.#process(channel, batch);
      }
    })()
      .catch((error: unknown) => this.#log.error({ err: error }, 'batch failed unexpectedly; its deliveries will be redelivered'))
      .finally(() => {
        this.#running = null;
      });
  }

  async #process(channel: Channel, msgs: ConsumeMessage[]): Promise<void> {
    this.stats.batches++;
    const deliveries = msgs.map((msg) => decode(msg));
    const outcomes = await this.#deliver(deliveries);

    // Last delivery before the broker's limit, and still not stored: record it as poison instead.
    const lastChance: number[] = [];
    for (const [i, o] of outcomes.entries()) if (o.kind === 'retry-later' && deliveryCount(msgs[i]!) >= this.#o.deliveryLimit) lastChance.push(i);
    if (lastChance.length > 0) {
      const poisoned = lastChance.map((i) => ({ ...deliveries[i]!, decoded: poisonError(msgs[i]!, outcomes[i]!, this.#o.deliveryLimit) }));
      const again = await this.#deliver(poisoned);
      lastChance.forEach((i, k) => (outcomes[i] = again[k]!));
    }

    // Only a rejection waits (for its dead-letter copy): no promise for each stored message.
    const verbs = outcomes.map((o, i) => this.#verbFor(msgs[i]!, o));
    await this.#settle(channel, msgs, verbs.some((v) => typeof v !== 'string') ? await Promise.all(verbs) : (verbs as Verb[]));
  }

  /** `deliver`, with a throw or a wrong-length answer turned into retry-later for the whole batch. */
  async #deliver(deliveries: Delivery[]): Promise<Outcome[]> {
    try {
      const outcomes = await this.#o.deliver(deliveries);
      if (outcomes.length !== deliveries.length) throw new RangeError(`deliver answered ${outcomes.length} outcomes for ${deliveries.length} deliveries`);
      return [...outcomes];
    } catch (error) {
      this.#log.error({ err: error, count: deliveries.length }, 'deliver failed; deliveries to be retried');
      return deliveries.map(() => ({ kind: 'retry-later', error }));
    }
  }

  /** The one mapping of outcome to broker verb (for a rejection, once its dead-letter copy was confirmed or not). */
  #verbFor(msg: ConsumeMessage, outcome: Outcome): Verb | Promise<Verb> {
    switch (outcome.kind) {
      case 'committed':
        this.stats.committed++;
        return 'ack';
      case 'duplicate':
        this.stats.duplicate++;
        return 'ack';
      case 'dropped':
        // Another relengd's own event (a shared broker): not ours, and not worth a dead-letter copy.
        this.stats.dropped++;
        return 'ack';
      case 'rejected':
        this.stats.rejected++;
        if (outcome.error.reason === RejectReason.poison) this.stats.poison++;
        return this.#deadLettered(msg, outcome.error);
      case 'retry-later':
        this.stats.retryLater++;
        return 'requeue';
    }
  }

  async #deadLettered(msg: ConsumeMessage, error: MessageRejectedError): Promise<Verb> {
    if (await this.#o.deadLetter(msg, error)) {
      this.stats.deadLettered++;
      return 'ack';
    }
    this.stats.deadLetterFailed++;
    this.#log.warn({ msgId: msg.properties.messageId, routingKey: msg.fields.routingKey, reason: error.reason }, 'dead-letter copy not confirmed; requeued');
    return 'requeue';
  }

  async #settle(channel: Channel, msgs: ConsumeMessage[], verbs: Verb[]): Promise<void> {
    try {
      if (verbs.every((v) => v === 'ack')) {
        // Every earlier delivery on this channel is settled already (batches run in order).
        this.#ifCurrent(channel, msgs.length, () => channel.ack(msgs[msgs.length - 1]!, true));
        this.stats.acked += msgs.length;
        return;
      }
      const requeue = msgs.filter((_, i) => verbs[i] === 'requeue');
      this.#ifCurrent(channel, msgs.length - requeue.length, () => msgs.forEach((msg, i) => verbs[i] === 'ack' && channel.ack(msg)));
      this.stats.acked += msgs.length - requeue.length;
      const count = Math.max(...requeue.map(deliveryCount));
      const delayMs = backoffDelay(this.#o.retry, count + 1);
      this.#log.warn({ count: requeue.length, deliveryCount: count, delayMs }, 'requeueing deliveries after a pause');
      await sleep(delayMs, this.#pause.signal);
      this.#ifCurrent(channel, requeue.length, () => requeue.forEach((msg) => channel.nack(msg, false, true)));
      this.stats.requeued += requeue.length;
    } catch (error) {
      // The channel closed under us (amqplib throws on a closed channel); the broker redelivers.
      this.stats.unsettled += msgs.length;
      this.#log.info({ count: msgs.length, detail: error instanceof Error ? error.message : String(error) }, 'channel closed before settling; the broker redelivers');
    }
  }

  #ifCurrent(channel: Channel, count: number, fn: () => void): void {
    if (this.#channel !== channel) throw new ChannelGoneError(count);
    fn();
  }
}

class ChannelGoneError extends Error {
  constructor(count: number) {
    super(`channel closed with ${count} deliveries unsettled`);
    this.name = 'ChannelGoneError';
  }
}

/** Returns of this message so far (quorum queues count them; absent on the first delivery). */
export function deliveryCount(msg: ConsumeMessage): number {
  const value: unknown = msg.properties.headers?.['x-delivery-count'];
  return typeof value === 'number' ? value : 0;
}

function poisonError(msg: ConsumeMessage, outcome: Outcome, limit: number): MessageRejectedError {
  const last = outcome.kind === 'retry-later' && outcome.error instanceof Error ? outcome.error.message : String(outcome.kind === 'retry-later' ? outcome.error : outcome.kind);
  return new MessageRejectedError(RejectReason.poison, `delivered ${deliveryCount(msg) + 1} times without being stored (delivery limit ${limit}); last error: ${last}`);
}
