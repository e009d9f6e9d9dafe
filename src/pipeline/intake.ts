import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, makeEnvelope, type EnvelopeInput } from '../events/envelope.ts';
import { MessageRejectedError, RejectReason } from '../errors.ts';
import { eventFields, type Logger } from '../log.ts';
import type { Store } from '../store/store.ts';

/** A message as a transport received it: decoded into envelope fields, or already rejected by the codec. */
export interface Delivery {
  transport: string;
  /** The bytes as received (body), kept with the event or the rejection. */
  raw: Uint8Array;
  /** Wire headers as strings, kept for the rejected table. */
  headers: Record<string, string>;
  decoded: EnvelopeInput | MessageRejectedError;
  /**
   * `raw` is exactly the message body the data was parsed from (not an envelope around it), so the
   * store keeps those bytes once, as the data. Codecs set it for Fedora Messaging bodies and
   * binary-mode CloudEvents.
   */
  rawIsData?: boolean | undefined;
}

/** What became of a delivery; the transport maps it to a broker verb in one place. */
export type Outcome =
  | { readonly kind: 'committed'; readonly id: string }
  | { readonly kind: 'duplicate'; readonly id: string }
  | { readonly kind: 'rejected'; readonly error: MessageRejectedError }
  | { readonly kind: 'retry-later'; readonly error: unknown };

export interface IntakeOptions {
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  maxMessageBytes?: number;
  /** Called after a batch with new events committed (the daemon schedules a dispatcher drain). */
  onCommitted?: () => void;
}

/**
 * The inbox writer: validates deliveries, checks publishers, and stores a batch of them in one
 * transaction (group commit). Outcomes are final only after that commit, so a transport acks after
 * `accept` returns and never before.
 */
export class Intake {
  readonly #o: IntakeOptions;
  readonly #log: Logger;

  constructor(options: IntakeOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'intake' });
  }

  accept(deliveries: readonly Delivery[]): Outcome[] {
    const { store, clock } = this.#o;
    const receivedAt = clock.now().toISOString();
    let outcomes: Outcome[];
    try {
      outcomes = store.transaction(() => deliveries.map((d) => this.#acceptOne(d, receivedAt)));
    } catch (error) {
      this.#log.error({ err: error, count: deliveries.length }, 'store write failed; deliveries to be retried');
      return deliveries.map(() => ({ kind: 'retry-later', error }));
    }
    if (outcomes.some((o) => o.kind === 'committed')) this.#o.onCommitted?.();
    return outcomes;
  }

  #acceptOne(delivery: Delivery, receivedAt: string): Outcome {
    const { store, config } = this.#o;
    const max = this.#o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    try {
      if (delivery.raw.byteLength > max) {
        throw new MessageRejectedError(RejectReason.tooLarge, `message of ${delivery.raw.byteLength} bytes exceeds the limit of ${max}`);
      }
      if (delivery.decoded instanceof MessageRejectedError) throw delivery.decoded;
      const envelope = makeEnvelope(delivery.decoded, { prefix: config.topicPrefix, receivedAt });
      // Known already (relengd's own event coming back from the broker, a redelivery): nothing to check or store.
      if (store.events.has(envelope.id)) {
        this.#log.debug({ ...eventFields(envelope), transport: delivery.transport }, 'duplicate dropped');
        return { kind: 'duplicate', id: envelope.id };
      }
      const allowed = config.publishers[envelope.topic];
      if (allowed && allowed.length > 0 && !(envelope.publisher && allowed.includes(envelope.publisher))) {
        throw new MessageRejectedError(
          RejectReason.unauthorized,
          `${envelope.topic} is accepted only from ${allowed.join(', ')}; publisher was ${envelope.publisher ?? '(not authenticated)'}`,
          'user_id',
        );
      }
      // New for sure: the id was checked above in this same write transaction.
      store.events.insert(envelope, { origin: 'inbound', transport: delivery.transport, receivedAt, raw: delivery.raw, rawIsData: delivery.rawIsData === true });
      // Per message at debug: at bus rates an info line each costs more than validating it.
      this.#log.debug({ ...eventFields(envelope), transport: delivery.transport, known: envelope.known }, 'accepted');
      return { kind: 'committed', id: envelope.id };
    } catch (error) {
      if (!(error instanceof MessageRejectedError)) throw error;
      const input = delivery.decoded instanceof MessageRejectedError ? undefined : delivery.decoded;
      store.rejected.insert({
        receivedAt,
        transport: delivery.transport,
        topic: input?.topic ?? null,
        messageId: input?.id ?? null,
        publisher: input?.publisher ?? null,
        reason: error.reason,
        field: error.field ?? null,
        detail: error.message,
        headers: delivery.headers,
        raw: delivery.raw,
      });
      this.#log.warn({ transport: delivery.transport, topic: input?.topic, msgId: input?.id, reason: error.reason, field: error.field, detail: error.message }, 'rejected');
      return { kind: 'rejected', error };
    }
  }
}
