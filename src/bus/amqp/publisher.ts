/**
 * Publishing on a confirm channel. A message counts as published only when the broker confirmed it
 * (basic.ack) and, when `mandatory` (the default: dead-letter copies must reach their queue), did
 * not return it as unroutable; a nack, a return, a closed channel
 * or a confirm that does not come in time is a failed item, which the caller retries (the outbox
 * relay, with backoff) — nothing is dropped. `channel.publish` returning false means the socket
 * buffer is full: the next message waits for 'drain'.
 */
import type { ConfirmChannel, Message } from 'amqplib';
import type { Logger } from '../../log.ts';
import type { PublishResult } from '../transport.ts';
import type { AmqpMessage } from './codec.ts';
import { PublishFailedError } from './errors.ts';

export interface PublisherStats {
  published: number;
  confirmed: number;
  returned: number;
  /** Nacked by the broker, or the channel closed before it confirmed (amqplib reports both alike). */
  unconfirmed: number;
  /** Not sent (not connected, channel closed) or no confirm in time. */
  lost: number;
  /** Waits for 'drain' (backpressure). */
  drains: number;
}

interface InFlight {
  returned: string | null;
}

export class ConfirmPublisher {
  readonly stats: PublisherStats = { published: 0, confirmed: 0, returned: 0, unconfirmed: 0, lost: 0, drains: 0 };
  readonly #log: Logger;
  readonly #confirmTimeoutMs: number;
  #channel: ConfirmChannel | null = null;
  /** Unconfirmed messages by message id, to match unroutable returns (a return carries no delivery tag). */
  readonly #inFlight = new Map<string, InFlight[]>();
  #outstanding = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(options: { logger: Logger; confirmTimeoutMs: number }) {
    this.#log = options.logger;
    this.#confirmTimeoutMs = options.confirmTimeoutMs;
  }

  /** Publishes on this channel from now on (a new one after each reconnect). */
  attach(channel: ConfirmChannel): void {
    this.#channel = channel;
    channel.on('return', (msg: Message) => this.#onReturn(msg));
    channel.on('close', () => {
      if (this.#channel === channel) this.#channel = null;
    });
  }

  detach(): void {
    this.#channel = null;
  }

  /** Waits for outstanding confirms, then closes the channel (before the connection: see BatchConsumer.stop). */
  async close(): Promise<void> {
    await this.idle();
    const channel = this.#channel;
    this.#channel = null;
    if (channel) await channel.close().catch((error: unknown) => this.#log.debug({ err: error }, 'close failed; channel already gone'));
  }

  get attached(): boolean {
    return this.#channel !== null;
  }

  /** Resolves when no publish waits for its confirm (shutdown). */
  idle(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Publishes in order and resolves, per message, once the broker answered (or the wait failed). */
  async publish(messages: readonly AmqpMessage[]): Promise<PublishResult[]> {
    const results: Array<Promise<PublishResult>> = [];
    let stuck = false;
    for (const message of messages) {
      const channel = this.#channel;
      if (!channel || stuck) {
        this.stats.lost++;
        results.push(Promise.resolve(failed(message, channel ? 'the socket did not drain in time (broker blocked?)' : 'not connected to the broker')));
        continue;
      }
      const { pending, writable } = this.#publishOne(channel, message);
      results.push(pending);
      if (!writable) stuck = !(await this.#drained(channel));
    }
    return Promise.all(results);
  }

  #publishOne(channel: ConfirmChannel, message: AmqpMessage): { pending: Promise<PublishResult>; writable: boolean } {
    const id = message.options.messageId;
    const entry: InFlight = { returned: null };
    if (id !== undefined) this.#inFlight.set(id, [...(this.#inFlight.get(id) ?? []), entry]);
    this.#outstanding++;
    let writable = true;
    const pending = new Promise<PublishResult>((resolve) => {
      let done = false;
      const finish = (result: PublishResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#forget(id, entry);
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.stats.lost++;
        finish(failed(message, `no confirm within ${this.#confirmTimeoutMs} ms`));
      }, this.#confirmTimeoutMs);
      timer.unref();
      try {
        writable = channel.publish(message.exchange, message.routingKey, message.content, { mandatory: true, ...message.options }, (error: unknown) => {
          if (error) {
            this.stats.unconfirmed++;
            finish(failed(message, `not confirmed (${error instanceof Error ? error.message : String(error)})`, error));
          } else if (entry.returned !== null) {
            this.stats.returned++;
            finish(failed(message, `unroutable (${entry.returned})`));
          } else {
            this.stats.confirmed++;
            finish({ ok: true });
          }
        });
        this.stats.published++;
      } catch (error) {
        // amqplib throws IllegalOperationError when the channel is already closed.
        this.stats.lost++;
        finish(failed(message, 'channel closed', error));
      }
    });
    return { pending, writable };
  }

  /** The broker returns an unroutable mandatory message before it acks it; mark it so the ack fails it. */
  #onReturn(msg: Message): void {
    const id = typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined;
    const entry = id === undefined ? undefined : this.#inFlight.get(id)?.find((e) => e.returned === null);
    // amqplib's types omit basic.return's replyCode and replyText; they are there at run time.
    const fields: Record<string, unknown> = { ...msg.fields };
    const why = [fields.replyCode, fields.replyText].filter((v) => v !== undefined).join(' ') || 'returned';
    if (entry) entry.returned = why;
    else this.#log.warn({ msgId: id, routingKey: msg.fields.routingKey, why }, 'return for an unknown message');
  }

  #forget(id: string | undefined, entry: InFlight): void {
    if (id !== undefined) {
      const rest = (this.#inFlight.get(id) ?? []).filter((e) => e !== entry);
      if (rest.length > 0) this.#inFlight.set(id, rest);
      else this.#inFlight.delete(id);
    }
    if (--this.#outstanding === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /**
   * Waits for the channel's buffer to drain: true when it did (or the channel closed, so the next
   * publish fails fast), false when it did not within the confirm timeout (a blocked broker).
   */
  #drained(channel: ConfirmChannel): Promise<boolean> {
    this.stats.drains++;
    return new Promise((resolve) => {
      const done = (drained: boolean): void => {
        clearTimeout(timer);
        channel.off('drain', onDrain);
        channel.off('close', onDrain);
        resolve(drained);
      };
      const onDrain = (): void => done(true);
      const timer = setTimeout(() => done(false), this.#confirmTimeoutMs);
      channel.once('drain', onDrain);
      channel.once('close', onDrain);
    });
  }
}

function failed(message: AmqpMessage, why: string, cause?: unknown): PublishResult {
  return { ok: false, error: new PublishFailedError(message.routingKey, message.options.messageId, why, { cause }) };
}
