import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { backoffDelay, defaultRetry, type RetryPolicy } from '../retry.ts';
import type { StoreApi } from '../store/api.ts';
import type { PublishItem, Transport } from './transport.ts';

export interface OutboxRelayOptions {
  store: StoreApi;
  transport: Transport;
  clock: Clock;
  logger: Logger;
  batchSize?: number;
  retry?: RetryPolicy;
}

/**
 * Publishes pending outbox rows through the transport and marks each sent only when the broker
 * confirmed it. A failed publish stays pending and is retried with backoff, never dropped.
 */
export class OutboxRelay {
  readonly #o: Required<OutboxRelayOptions>;
  readonly #log: Logger;
  #running: Promise<void> | null = null;
  #again = false;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: OutboxRelayOptions) {
    this.#o = { batchSize: 200, retry: defaultRetry, ...options };
    this.#log = options.logger.child({ component: 'outbox' });
  }

  /** Asks for a flush soon. */
  schedule(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#flushLoop().finally(() => (this.#running = null));
  }

  /** Waits for the flush in progress (shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #flushLoop(): Promise<void> {
    do {
      this.#again = false;
      const failed = await this.flushOnce();
      if (failed > 0) {
        this.#failures++;
        const delay = backoffDelay(this.#o.retry, this.#failures);
        this.#log.warn({ failed, retryInMs: delay }, 'publish failed; will retry');
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.schedule(), delay);
        this.#timer.unref();
        return;
      }
      this.#failures = 0;
    } while (this.#again && !this.#stopped);
  }

  /** Publishes pending rows batch by batch; returns how many failed. */
  async flushOnce(): Promise<number> {
    const { store, transport, clock, batchSize } = this.#o;
    for (;;) {
      if (this.#stopped || !transport.isReady()) return 0;
      const pending = await store.outbox.pending(batchSize);
      if (pending.length === 0) return 0;
      const items: Array<PublishItem & { eventId: string }> = [];
      const gone: string[] = [];
      for (const row of pending) {
        const event = await store.events.get(row.eventId);
        if (event) items.push({ eventId: row.eventId, envelope: event.envelope, routingKey: row.routingKey });
        else gone.push(row.eventId);
      }
      if (gone.length > 0) {
        // An event removed by hand has nothing left to send: close its row rather than retry it forever.
        this.#log.warn({ eventIds: gone }, 'outbox rows without their event: marked done, nothing published');
        const at = clock.now().toISOString();
        await store.transaction(async () => {
          for (const id of gone) await store.outbox.markSent(id, at);
        });
      }
      const results = await transport.publish(items);
      let failed = 0;
      const at = clock.now().toISOString();
      await store.transaction(async () => {
        for (const [i, result] of results.entries()) {
          const item = items[i]!;
          if (result.ok) await store.outbox.markSent(item.eventId, at);
          else {
            failed++;
            await store.outbox.markFailed(item.eventId, result.error instanceof Error ? result.error.message : String(result.error));
          }
        }
      });
      if (failed > 0) return failed;
    }
  }
}
