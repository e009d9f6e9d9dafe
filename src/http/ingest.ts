import { HTTP, type CloudEvent } from 'cloudevents';
import { inputFromCloudEvent } from '../events/envelope.ts';
import { MessageRejectedError, RejectReason } from '../errors.ts';
import type { Delivery, Outcome } from '../pipeline/intake.ts';

/**
 * Decodes a CloudEvents HTTP request (binary mode: `ce-*` headers; structured mode:
 * `application/cloudevents+json`) into a delivery. Never throws: a bad request becomes a
 * rejected delivery so its bytes are kept with the reason.
 */
export function decodeHttpEvent(headers: Record<string, string>, body: Buffer): Delivery {
  const base = { transport: 'http', raw: body, headers };
  const text = body.toString('utf8');
  let event: CloudEvent<unknown>;
  try {
    event = HTTP.toEvent({ headers, body: text }) as CloudEvent<unknown>;
  } catch (error) {
    if (error instanceof SyntaxError) {
      return { ...base, decoded: new MessageRejectedError(RejectReason.notJson, `body is not JSON: ${error.message}`, 'data') };
    }
    const detail = error instanceof Error ? error.message : String(error);
    return { ...base, decoded: new MessageRejectedError(RejectReason.notCloudEvent, `not a CloudEvent: ${detail}`) };
  }
  if (typeof event.data === 'string' && isJsonContent(event.datacontenttype)) {
    return { ...base, decoded: new MessageRejectedError(RejectReason.notJson, 'data is not JSON', 'data') };
  }
  // Binary mode: the body is the data, kept once by the store. Structured: the body is the envelope.
  const binary = 'ce-id' in headers && event.data_base64 === undefined;
  return { ...base, decoded: inputFromCloudEvent(event), rawIsData: binary };
}

function isJsonContent(type: string | undefined): boolean {
  return !type || /json/i.test(type);
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
    case 'retry-later':
      return { status: 503, body: { status: 'retry-later', error: 'the store could not take the event; retry' } };
  }
}

function statusForReason(reason: RejectReason): number {
  switch (reason) {
    case 'too-large':
      return 413;
    case 'unauthorized':
      return 403;
    case 'schema':
    case 'unknown-topic':
      return 422;
    case 'not-json':
    case 'not-cloudevent':
    case 'poison':
      return 400;
  }
}
