import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, makeEnvelope, type EnvelopeInput } from '../events/envelope.ts';
import { MessageRejectedError, RejectReason } from '../errors.ts';
import { eventFields, type Logger } from '../log.ts';
import { isDerivedId } from '../events/ids.ts';
import { splitTopic } from '../events/topics.ts';
import { isStoreError } from '../store/database.ts';
import type { Store } from '../store/store.ts';
import { authorize, mayCarryDerivedId, type DeliverySource } from '../trust.ts';

/** A message as a transport received it: decoded into envelope fields, or already rejected by the codec. */
export interface Delivery {
  transport: string;
  /** The bytes as received (body), kept with the event or the rejection. */
  raw: Uint8Array;
  /** Wire headers as strings, kept for the rejected table. */
  headers: Record<string, string>;
  /**
   * The topic and id the wire names apart from the body (set by codecs that read them from
   * headers), for the rejected table when the body cannot be decoded.
   */
  wire?: { topic?: string | undefined; id?: string | undefined } | undefined;
  decoded: EnvelopeInput | MessageRejectedError;
  /**
   * `raw` is exactly the message body the data was parsed from (not an envelope around it), so the
   * store keeps those bytes once, as the data. Codecs set it for Fedora Messaging bodies and
   * binary-mode CloudEvents.
   */
  rawIsData?: boolean | undefined;
  /** How the message came, for the trust rules (src/trust.ts). Default `live`. */
  source?: DeliverySource | undefined;
}

/** What became of a delivery; the transport maps it to a broker verb in one place. */
export type Outcome =
  | { readonly kind: 'committed'; readonly id: string }
  | { readonly kind: 'duplicate'; readonly id: string }
  | { readonly kind: 'rejected'; readonly error: MessageRejectedError }
  /** relengd's own topic from outside: acked and counted, never stored, dispatched or dead-lettered. */
  | { readonly kind: 'dropped'; readonly id: string | null; readonly why: string }
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
  readonly #dropped = new Map<string, number>();

  constructor(options: IntakeOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'intake' });
  }

  /** relengd's own topics that arrived from outside and were dropped, by transport (a metric). */
  droppedOwnTopics(): ReadonlyMap<string, number> {
    return this.#dropped;
  }

  accept(deliveries: readonly Delivery[]): Outcome[] {
    const { store, clock } = this.#o;
    const receivedAt = clock.now().toISOString();
    let outcomes: Outcome[];
    try {
      // Optimistic: the whole batch in one transaction, no savepoint per message (two statements
      // each, measured at about a quarter of the intake's CPU). A message that fails unexpectedly
      // is rare: then the batch is done again with each message in a savepoint of its own.
      outcomes = this.#transaction(deliveries, receivedAt, false);
    } catch (first) {
      try {
        if (isStoreError(first)) throw first;
        outcomes = this.#transaction(deliveries, receivedAt, true);
      } catch (error) {
        this.#log.error({ err: error, count: deliveries.length }, 'store write failed; deliveries to be retried');
        return deliveries.map(() => ({ kind: 'retry-later', error }));
      }
    }
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.kind !== 'dropped') continue;
      const transport = deliveries[i]!.transport;
      this.#dropped.set(transport, (this.#dropped.get(transport) ?? 0) + 1);
    }
    if (outcomes.some((o) => o.kind === 'committed')) this.#o.onCommitted?.();
    return outcomes;
  }

  #transaction(deliveries: readonly Delivery[], receivedAt: string, alone: boolean): Outcome[] {
    return this.#o.store.transaction(() => deliveries.map((d) => (alone ? this.#acceptAlone(d, receivedAt) : this.#acceptOne(d, receivedAt))));
  }

  /**
   * One delivery in a savepoint of the batch's transaction: whatever this message does wrong is
   * undone and rejected alone, and its neighbours commit. Only a failing store fails the batch.
   */
  #acceptAlone(delivery: Delivery, receivedAt: string): Outcome {
    try {
      return this.#o.store.savepoint(() => this.#acceptOne(delivery, receivedAt));
    } catch (error) {
      if (isStoreError(error)) throw error;
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const rejection = new MessageRejectedError(RejectReason.unprocessable, `the message could not be processed (${detail})`);
      this.#log.error({ err: error, transport: delivery.transport }, 'message could not be processed; rejected alone');
      try {
        this.#o.store.savepoint(() => this.#recordRejection(delivery, rejection, receivedAt));
      } catch (recordError) {
        if (isStoreError(recordError)) throw recordError;
      }
      return { kind: 'rejected', error: rejection };
    }
  }

  #acceptOne(delivery: Delivery, receivedAt: string): Outcome {
    const { store, config } = this.#o;
    const max = this.#o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    try {
      if (delivery.raw.byteLength > max) {
        throw new MessageRejectedError(RejectReason.tooLarge, `message of ${delivery.raw.byteLength} bytes exceeds the limit of ${max}`);
      }
      if (delivery.decoded instanceof MessageRejectedError) throw delivery.decoded;
      const input = delivery.decoded;
      // Authorise before anything else, the duplicate check included: an unauthorised sender learns nothing.
      const { name } = splitTopic(input.topic, config.topicPrefix);
      const verdict = authorize(name, { identity: input.publisher, source: delivery.source ?? 'live' }, config.publishers);
      if (!verdict.allowed && verdict.drop) {
        this.#log.debug({ transport: delivery.transport, topic: input.topic, msgId: input.id }, 'own topic from outside dropped');
        return { kind: 'dropped', id: input.id ?? null, why: verdict.why };
      }
      if (!verdict.allowed) throw new MessageRejectedError(RejectReason.unauthorized, verdict.why, 'publisher');
      if (input.id && isDerivedId(input.id) && !mayCarryDerivedId(delivery.source ?? 'live')) {
        throw new MessageRejectedError(RejectReason.reservedId, `id ${input.id} is of the form relengd derives for its own events; an inbound message may not use it`, 'id');
      }
      const envelope = makeEnvelope(input, { prefix: config.topicPrefix, receivedAt });
      // Known already (a redelivery, a producer retrying): nothing to store.
      if (store.events.has(envelope.id)) {
        this.#log.debug({ ...eventFields(envelope), transport: delivery.transport }, 'duplicate dropped');
        return { kind: 'duplicate', id: envelope.id };
      }
      // New for sure: the id was checked above in this same write transaction.
      store.events.insert(envelope, { origin: 'inbound', transport: delivery.transport, receivedAt, raw: delivery.raw, rawIsData: delivery.rawIsData === true });
      // Per message at debug: at bus rates an info line each costs more than validating it.
      this.#log.debug({ ...eventFields(envelope), transport: delivery.transport, known: envelope.known }, 'accepted');
      return { kind: 'committed', id: envelope.id };
    } catch (error) {
      if (!(error instanceof MessageRejectedError)) throw error;
      this.#recordRejection(delivery, error, receivedAt);
      return { kind: 'rejected', error };
    }
  }

  #recordRejection(delivery: Delivery, error: MessageRejectedError, receivedAt: string): void {
    const input = delivery.decoded instanceof MessageRejectedError ? undefined : delivery.decoded;
    this.#o.store.rejected.insert({
      receivedAt,
      transport: delivery.transport,
      // An undecodable message still names its id and topic on the wire, for whoever reads the rejection.
      topic: input?.topic ?? delivery.wire?.topic ?? delivery.headers['amqp.routing-key'] ?? delivery.headers['ce-type'] ?? null,
      messageId: input?.id ?? delivery.wire?.id ?? delivery.headers['amqp.message-id'] ?? delivery.headers['ce-id'] ?? null,
      publisher: input?.publisher ?? null,
      reason: error.reason,
      field: error.field ?? null,
      detail: error.message,
      headers: delivery.headers,
      raw: delivery.raw,
    });
    this.#log.warn({ transport: delivery.transport, topic: input?.topic, msgId: input?.id, reason: error.reason, field: error.field, detail: error.message }, 'rejected');
  }
}
