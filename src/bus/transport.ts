import type { Envelope } from '../events/envelope.ts';
import type { Delivery, Outcome } from '../pipeline/intake.ts';

/** Stores a batch of deliveries and says what became of each; the transport acks accordingly. */
export type DeliverBatch = (batch: readonly Delivery[]) => Promise<Outcome[]>;

export interface PublishItem {
  envelope: Envelope;
  /** Full routing key (with the deployment prefix). */
  routingKey: string;
}

/** Per item: confirmed by the broker, or failed with a reason (the outbox retries it). */
export type PublishResult = { ok: true } | { ok: false; error: unknown };

/**
 * A message bus adapter. Every adapter (embedded, amqp, kafka) has this shape; it is handed
 * `deliver` and never sees the store or the listeners.
 */
export interface Transport {
  readonly name: string;
  /** Connects and starts consuming; deliveries go to `deliver`. */
  start(deliver: DeliverBatch): Promise<void>;
  /** Publishes and waits for the broker's confirms. */
  publish(items: readonly PublishItem[]): Promise<PublishResult[]>;
  /** Connected and consuming. */
  isReady(): boolean;
  /**
   * Messages waiting on the broker for relengd (AMQP: ready in its queue; Kafka: the consumer
   * group's lag), read at most every few seconds however often it is asked; null when it cannot
   * tell (not connected). Absent: the transport cannot tell at all.
   */
  backlog?(): Promise<number | null>;
  /** Stops consuming, finishes what is in hand, waits for confirms, closes. */
  stop(): Promise<void>;
}
