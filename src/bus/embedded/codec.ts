/**
 * The embedded bus's wire format: CloudEvents over HTTP, as `POST /events` receives it (the HTTP
 * server serves the route; this decodes the request and says how to answer).
 */
import { HTTP, type CloudEvent } from 'cloudevents';
import { DEFAULT_MAX_MESSAGE_BYTES, inputFromCloudEvent, type EnvelopeInput } from '../../events/envelope.ts';
import { parseJsonBody } from '../../events/json-body.ts';
import { MessageRejectedError, RejectReason } from '../../errors.ts';
import type { Delivery, Outcome } from '../../pipeline/intake.ts';

/** Content types whose body is JSON (binary mode, or structured `application/cloudevents+json`); none at all is read as JSON too. */
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/**
 * Decodes a CloudEvents HTTP request (binary mode: `ce-*` headers; structured mode:
 * `application/cloudevents+json`) into a delivery. Never throws: a bad request becomes a
 * rejected delivery so its bytes are kept with the reason. Only JSON is taken: a binary-mode
 * body of another content type is refused (415) before anything parses it, and size and nesting
 * are bounded before any recursive work.
 */
export function decodeHttpEvent(headers: Record<string, string>, body: Buffer, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Delivery {
  const base = { transport: 'http', raw: body as Uint8Array, headers };
  const contentType = headers['content-type'] ?? '';
  // Structured by its content type even when ce-* headers are present too (as the SDK reads it).
  const binary = ('ce-id' in headers || 'ce-specversion' in headers) && !/^application\/cloudevents/i.test(contentType);
  try {
    if (contentType && !JSON_CONTENT_TYPE.test(contentType)) {
      throw new MessageRejectedError(RejectReason.mediaType, `content type ${contentType} is not JSON; relengd takes JSON data only`, 'content-type');
    }
    const parsed = parseJsonBody(body, { maxBytes });
    const text = Buffer.from(parsed.bytes).toString('utf8');
    let event: CloudEvent<unknown> | CloudEvent<unknown>[];
    try {
      // Binary mode: the SDK reads only the attributes; the data is the JSON parsed above (the SDK
      // would take a body without a content type, or a bare number, as text).
      event = HTTP.toEvent({ headers, body: binary ? '{}' : text }) as CloudEvent<unknown> | CloudEvent<unknown>[];
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new MessageRejectedError(RejectReason.notCloudEvent, `not a CloudEvent: ${detail}`);
    }
    if (Array.isArray(event)) throw new MessageRejectedError(RejectReason.notCloudEvent, 'batched CloudEvents are not accepted: send one event per request');
    // Binary mode: the body is the data, kept once by the store. Structured: the body is the envelope.
    if (binary) return { ...base, raw: parsed.bytes, decoded: { ...withSentId(event, headers['ce-id']), data: parsed.value }, rawIsData: true };
    return { ...base, decoded: withSentId(event, (parsed.value as { id?: unknown } | null)?.id) };
  } catch (error) {
    const rejection = error instanceof MessageRejectedError ? error : new MessageRejectedError(RejectReason.notCloudEvent, `undecodable request: ${String(error)}`);
    return { ...base, decoded: rejection };
  }
}

/**
 * The event's fields with the id the request carried. The SDK makes up a random id for an event
 * without one; dropping it lets the envelope give the message the id every path gives it.
 */
function withSentId(event: CloudEvent<unknown>, sentId: unknown): EnvelopeInput {
  return { ...inputFromCloudEvent(event), id: typeof sentId === 'string' && sentId !== '' ? sentId : undefined };
}

/** HTTP status and JSON body for an outcome. */
export function httpResponseFor(outcome: Outcome): { status: number; body: Record<string, unknown> } {
  switch (outcome.kind) {
    case 'committed':
      return { status: 202, body: { status: 'accepted', id: outcome.id } };
    case 'duplicate':
      return { status: 200, body: { status: 'duplicate', id: outcome.id } };
    case 'rejected':
      return {
        status: statusForReason(outcome.error.reason),
        body: { status: 'rejected', reason: outcome.error.reason, field: outcome.error.field ?? null, error: outcome.error.message },
      };
    case 'dropped':
      return { status: 403, body: { status: 'rejected', reason: 'own-topic', field: 'topic', error: outcome.why } };
    case 'retry-later':
      return { status: 503, body: { status: 'retry-later', error: 'the store could not take the event; retry' } };
  }
}

function statusForReason(reason: RejectReason): number {
  switch (reason) {
    case 'too-large':
      return 413;
    case 'unauthorized':
    case 'reserved-id':
      return 403;
    case 'media-type':
      return 415;
    case 'schema':
    case 'unknown-topic':
      return 422;
    case 'not-json':
    case 'not-cloudevent':
    case 'poison':
      return 400;
    case 'unprocessable':
      return 422;
  }
}
