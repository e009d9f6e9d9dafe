/**
 * A producer that keeps publishing through broker restarts, as Fedora Messaging's publisher does:
 * publisher confirms, and a message whose confirm never came (connection lost, nack) or that the
 * broker returned (mandatory, unroutable) is published again until the broker confirms it. A
 * message re-sent that way may reach the queue twice: the consumer's inbox must keep one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { fedoraWire } from '../helpers/fedora-wire.ts';

type Wire = ReturnType<typeof fedoraWire>;
type Outcome = 'ack' | 'nack' | 'returned' | 'lost';

export class ConfirmPublisher {
  readonly stats = { sends: 0, confirmed: 0, nacked: 0, returned: 0, lost: 0, connections: 0 };
  #url: string;
  #log: (line: string) => void;
  #connection: ChannelModel | null = null;
  #channel: ConfirmChannel | null = null;
  #connecting: Promise<ConfirmChannel> | null = null;
  #returned = new Set<string>();
  #closed = false;

  constructor(url: string, log: (line: string) => void) {
    this.#url = url;
    this.#log = log;
  }

  /** Publishes until the broker confirms the message (not returned). */
  async send(wire: Wire): Promise<void> {
    const id = String(wire.options.messageId);
    for (;;) {
      if (this.#closed) throw new Error('publisher closed');
      const channel = await this.#open();
      this.stats.sends++;
      // amqplib calls back every unconfirmed publish with an error when the channel closes.
      const outcome = await new Promise<Outcome>((resolve) => {
        try {
          channel.publish('amq.topic', wire.routingKey, wire.content, { ...wire.options, mandatory: true }, (error: unknown) => {
            if (error) resolve(String((error as Error).message).includes('nack') ? 'nack' : 'lost');
            else resolve(this.#returned.delete(id) ? 'returned' : 'ack');
          });
        } catch {
          resolve('lost'); // the channel closed under us
        }
      });
      if (outcome === 'ack') {
        this.stats.confirmed++;
        return;
      }
      this.stats[outcome === 'nack' ? 'nacked' : outcome === 'returned' ? 'returned' : 'lost']++;
      await sleep(outcome === 'returned' ? 1000 : 100);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connection?.close().catch(() => undefined);
  }

  #open(): Promise<ConfirmChannel> {
    if (this.#channel) return Promise.resolve(this.#channel);
    return (this.#connecting ??= (async () => {
      for (let attempt = 1; ; attempt++) {
        if (this.#closed) throw new Error('publisher closed');
        try {
          const connection = await connect(this.#url, { noDelay: true });
          const channel = await connection.createConfirmChannel();
          connection.on('error', () => undefined);
          channel.on('error', () => undefined);
          connection.on('close', () => {
            if (this.#connection === connection) {
              this.#connection = null;
              this.#channel = null;
              if (!this.#closed) this.#log('publisher: connection lost; reconnecting');
            }
          });
          // A channel the broker closed (a refused user_id, say) is replaced with its connection.
          channel.on('close', () => {
            if (this.#channel !== channel) return;
            this.#channel = null;
            this.#connection = null;
            connection.close().catch(() => undefined);
          });
          channel.on('return', (m: ConsumeMessage) => this.#returned.add(String(m.properties.messageId)));
          this.#connection = connection;
          this.#channel = channel;
          this.stats.connections++;
          if (attempt > 1 || this.stats.connections > 1) this.#log(`publisher: connected (attempt ${attempt})`);
          return channel;
        } catch {
          await sleep(Math.min(2000, 200 * attempt));
        }
      }
    })().finally(() => (this.#connecting = null)));
  }
}
