import { topicMatches } from '../../events/topics.ts';
import type { DeliverBatch, PublishItem, PublishResult, Transport } from '../transport.ts';

export type EmbeddedSubscriber = (item: PublishItem) => void;

/**
 * The default transport: everything in one process, durable through the store. Inbound events
 * arrive over the HTTP ingest (or `inject`); published events go to in-process subscribers.
 */
export class EmbeddedTransport implements Transport {
  readonly name = 'embedded';
  #deliver: DeliverBatch | null = null;
  readonly #subscribers: Array<{ pattern: string; fn: EmbeddedSubscriber }> = [];

  async start(deliver: DeliverBatch): Promise<void> {
    this.#deliver = deliver;
  }

  /** Delivers messages from inside the process (the demo, tests) the same way a broker would. */
  inject(batch: Parameters<DeliverBatch>[0]): ReturnType<DeliverBatch> {
    if (!this.#deliver) throw new TypeError('embedded transport not started');
    return this.#deliver(batch);
  }

  /** Subscribes to published events by routing-key pattern (`#.relengd.compose.finished`). */
  subscribe(pattern: string, fn: EmbeddedSubscriber): () => void {
    const entry = { pattern, fn };
    this.#subscribers.push(entry);
    return () => void this.#subscribers.splice(this.#subscribers.indexOf(entry), 1);
  }

  async publish(items: readonly PublishItem[]): Promise<PublishResult[]> {
    return items.map((item) => {
      try {
        for (const s of this.#subscribers) if (topicMatches(s.pattern, item.routingKey)) s.fn(item);
        return { ok: true };
      } catch (error) {
        return { ok: false, error };
      }
    });
  }

  isReady(): boolean {
    return this.#deliver !== null;
  }

  /** Nothing waits: a message is stored before its sender gets the answer. */
  async backlog(): Promise<number | null> {
    return 0;
  }

  async stop(): Promise<void> {
    this.#deliver = null;
  }
}
