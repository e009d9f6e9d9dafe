import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, makeEnvelope, type Envelope, type EnvelopeInput } from '../events/envelope.ts';
import { MessageRejectedError, RejectReason } from '../errors.ts';
import { eventFields, type Logger } from '../log.ts';
import { isDerivedId } from '../events/ids.ts';
import { splitTopic } from '../events/topics.ts';
import { eventRow, type EventInsertRow } from '../store/events.ts';
import type { InboxWrite } from '../store/inbox.ts';
import type { Rejection } from '../store/rejected.ts';
import type { StoreApi } from '../store/api.ts';
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
  store: StoreApi;
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
 * `accept` resolves and never before.
 */
export class Intake {
  readonly #o: IntakeOptions;
  readonly #log: Logger;
  readonly #dropped = new Map<string, number>();

  constructor(options: IntakeOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'intake' });
  }

  get #debug(): boolean {
    return this.#log.isLevelEnabled('debug');
  }

  /** relengd's own topics that arrived from outside and were dropped, by transport (a metric). */
  droppedOwnTopics(): ReadonlyMap<string, number> {
    return this.#dropped;
  }

  /** Stores a batch in one transaction; outcomes are final when it resolves (a transport acks after, never before). */
  async accept(deliveries: readonly Delivery[]): Promise<Outcome[]> {
    const batch = this.#decide(deliveries);
    let stored: boolean[];
    try {
      stored = await this.#o.store.writeInbox(batch.writes);
    } catch (error) {
      return this.#writeFailed(deliveries, error);
    }
    return this.#outcomes(deliveries, batch, stored);
  }

  /** Nothing of the batch was stored (the store failed): every delivery is to be retried. */
  #writeFailed(deliveries: readonly Delivery[], error: unknown): Outcome[] {
    this.#log.error({ err: error, count: deliveries.length }, 'store write failed; deliveries to be retried');
    return deliveries.map(() => ({ kind: 'retry-later', error }));
  }

  /** Each delivery's outcome once the batch's writes are stored (`stored[k]`: whether write k stored a row). */
  #outcomes(deliveries: readonly Delivery[], batch: DecidedBatch, stored: readonly boolean[]): Outcome[] {
    const outcomes = batch.decided.map((d, i): Outcome => {
      if (d.kind === 'event') {
        const isNew = stored[d.write]!;
        // Per message at debug, its fields built only then: at bus rates an info line each costs more than validating it.
        if (this.#debug) this.#log.debug({ ...eventFields(d.envelope), transport: deliveries[i]!.transport, known: d.envelope.known }, isNew ? 'accepted' : 'duplicate dropped');
        // Known already (a redelivery, a producer retrying): nothing was stored.
        return isNew ? { kind: 'committed', id: d.envelope.id } : { kind: 'duplicate', id: d.envelope.id };
      }
      if (d.outcome.kind === 'dropped') {
        const transport = deliveries[i]!.transport;
        this.#dropped.set(transport, (this.#dropped.get(transport) ?? 0) + 1);
      }
      return d.outcome;
    });
    if (outcomes.some((o) => o.kind === 'committed')) this.#o.onCommitted?.();
    return outcomes;
  }

  /**
   * What to store for each delivery, decided before any transaction: an event, a rejection, or
   * nothing (dropped). Whatever one message does wrong (a value that cannot be serialised
   * included) rejects that message alone; the transaction that follows only runs SQL.
   */
  #decide(deliveries: readonly Delivery[]): DecidedBatch {
    const receivedAt = this.#o.clock.now().toISOString();
    const writes: InboxWrite[] = [];
    const decided = deliveries.map((delivery): Decided => {
      let rejection: MessageRejectedError;
      try {
        const accepted = this.#acceptOne(delivery, receivedAt);
        if ('outcome' in accepted) return accepted;
        writes.push({ table: 'events', row: accepted.row });
        return { kind: 'event', envelope: accepted.envelope, write: writes.length - 1 };
      } catch (error) {
        rejection = error instanceof MessageRejectedError ? error : this.#unprocessable(delivery, error);
      }
      writes.push({ table: 'rejected', row: this.#o.store.rejected.row(this.#rejection(delivery, rejection, receivedAt)) });
      return { kind: 'other', outcome: { kind: 'rejected', error: rejection } };
    });
    return { decided, writes };
  }

  #unprocessable(delivery: Delivery, error: unknown): MessageRejectedError {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.#log.error({ err: error, transport: delivery.transport }, 'message could not be processed; rejected alone');
    return new MessageRejectedError(RejectReason.unprocessable, `the message could not be processed (${detail})`);
  }

  /** An event's row, or what else becomes of the delivery. @throws MessageRejectedError, or anything a broken message makes fail */
  #acceptOne(delivery: Delivery, receivedAt: string): { envelope: Envelope; row: EventInsertRow } | { kind: 'other'; outcome: Outcome } {
    const { config } = this.#o;
    const max = this.#o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (delivery.raw.byteLength > max) {
      throw new MessageRejectedError(RejectReason.tooLarge, `message of ${delivery.raw.byteLength} bytes exceeds the limit of ${max}`);
    }
    if (delivery.decoded instanceof MessageRejectedError) throw delivery.decoded;
    const input = delivery.decoded;
    // Authorise before anything else, the duplicate check included: an unauthorised sender learns nothing.
    const { name } = splitTopic(input.topic, config.topicPrefix);
    const verdict = authorize(name, { identity: input.publisher, source: delivery.source ?? 'live' }, config.publishers);
    if (!verdict.allowed && verdict.drop) {
      if (this.#debug) this.#log.debug({ transport: delivery.transport, topic: input.topic, msgId: input.id }, 'own topic from outside dropped');
      return { kind: 'other', outcome: { kind: 'dropped', id: input.id ?? null, why: verdict.why } };
    }
    if (!verdict.allowed) throw new MessageRejectedError(RejectReason.unauthorized, verdict.why, 'publisher');
    if (input.id && isDerivedId(input.id) && !mayCarryDerivedId(delivery.source ?? 'live')) {
      throw new MessageRejectedError(RejectReason.reservedId, `id ${input.id} is of the form relengd derives for its own events; an inbound message may not use it`, 'id');
    }
    const envelope = makeEnvelope(input, { prefix: config.topicPrefix, receivedAt });
    // The insert is the duplicate check (ON CONFLICT (id) DO NOTHING, in the batch's transaction).
    return { envelope, row: eventRow(envelope, { origin: 'inbound', transport: delivery.transport, receivedAt, raw: delivery.raw, rawIsData: delivery.rawIsData === true }) };
  }

  #rejection(delivery: Delivery, error: MessageRejectedError, receivedAt: string): Rejection {
    const input = delivery.decoded instanceof MessageRejectedError ? undefined : delivery.decoded;
    this.#log.warn({ transport: delivery.transport, topic: input?.topic, msgId: input?.id, reason: error.reason, field: error.field, detail: error.message }, 'rejected');
    return {
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
    };
  }
}

type Decided = { kind: 'event'; envelope: Envelope; write: number } | { kind: 'other'; outcome: Outcome };

interface DecidedBatch {
  decided: Decided[];
  writes: InboxWrite[];
}
