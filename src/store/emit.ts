import { MessageRejectedError, RejectReason } from '../errors.ts';
import { isTopic } from '../events/catalogue.ts';
import { makeEnvelope, routingKeyOf, type Envelope } from '../events/envelope.ts';
import { emittedEventId } from '../events/ids.ts';
import { cloudEventTypeOf } from '../events/relengd/index.ts';
import type { StoreApi } from './api.ts';

/** An event decided by a listener or produced by a job. */
export interface EmitRequest {
  topic: string;
  /** With the cause and the emitter, makes the id: the same decision twice is one event. */
  key: string;
  subject?: string | undefined;
  data: unknown;
}

export interface EmitContext {
  /** The event (or the job's cause) that led to this one. */
  causeId: string;
  correlationId: string;
  /** Listener or job name: part of the id and of the CloudEvents source. */
  emitter: string;
  topicPrefix: string;
  now: string;
}

/**
 * Stores a relengd event as pending (so relengd's own listeners get it) and queues it in the
 * outbox, unless its derived id exists. Validates the data against the topic's schema.
 * @returns the envelope when it was new, else null.
 * @throws MessageRejectedError for a topic not in the catalogue (a typo would otherwise be stored,
 *   published and heard by no listener) or data that breaks its topic's schema.
 */
export async function storeEmitted(store: StoreApi, emit: EmitRequest, ctx: EmitContext): Promise<Envelope | null> {
  if (!isTopic(emit.topic)) throw new MessageRejectedError(RejectReason.unknownTopic, `${ctx.emitter} emitted ${emit.topic}, which is not in the event catalogue (src/events/catalogue.ts)`, 'topic');
  const id = emittedEventId(ctx.causeId, ctx.emitter, emit.key);
  if (await store.events.has(id)) return null; // decided before (redelivery, replay)
  const envelope = {
    ...makeEnvelope(
      {
        topic: emit.topic,
        data: emit.data,
        id,
        type: cloudEventTypeOf(emit.topic),
        source: `/relengd/${ctx.emitter}`,
        subject: emit.subject,
        correlationid: ctx.correlationId,
        causationid: ctx.causeId,
      },
      { receivedAt: ctx.now },
    ),
    prefix: ctx.topicPrefix,
  };
  if (!(await store.events.insert(envelope, { origin: 'emitted', transport: 'internal', receivedAt: ctx.now }))) return null;
  await store.outbox.add(envelope.id, routingKeyOf(envelope, ctx.topicPrefix), ctx.now);
  return envelope;
}
