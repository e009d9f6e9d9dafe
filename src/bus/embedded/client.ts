import { CloudEvent, HTTP } from 'cloudevents';
import { TOPIC_EXTENSION } from '../../events/envelope.ts';
import { idOfIdLessMessage } from '../../events/ids.ts';
import { cloudEventTypeOf } from '../../events/relengd/index.ts';

/** A message as Fedora Messaging and datagrepper write it: full topic, headers, body, id. */
export interface BusMessage {
  topic: string;
  body: unknown;
  id?: string | undefined;
  headers?: Record<string, unknown> | undefined;
}

export interface PublishReply {
  status: number;
  body: Record<string, unknown>;
}

export interface PublishOptions {
  /** Sent as `Authorization: Bearer <token>`: the daemon maps it to the publisher name. */
  token?: string | undefined;
}

/**
 * Sends a message to relengd's `POST /events` as a binary-mode CloudEvent. A message without id
 * gets the id relengd gives it on any path (`idOfIdLessMessage`), so sending it twice is stored once.
 */
export async function publishOverHttp(baseUrl: string, message: BusMessage, options: PublishOptions = {}): Promise<PublishReply> {
  const { headers, body } = httpRequestOf(message);
  const response = await reach(baseUrl, '/events', { method: 'POST', headers: { ...headers, ...authorization(options) }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The stored events of the chain `correlationId` started, oldest first (`GET /events?correlation=`). */
export async function fetchChain(baseUrl: string, correlationId: string, options: PublishOptions = {}): Promise<unknown[]> {
  const response = await reach(baseUrl, `/events?correlation=${encodeURIComponent(correlationId)}`, { headers: authorization(options) });
  const body = (await response.json()) as { events?: unknown[]; error?: string };
  if (!response.ok || !Array.isArray(body.events)) throw new Error(`relengd at ${baseUrl} answered ${response.status}: ${body.error ?? 'no events'}`);
  return body.events;
}

/** Whether a daemon answers at `baseUrl` (`GET /healthz`). */
export async function daemonIsUp(baseUrl: string): Promise<boolean> {
  try {
    return (await reach(baseUrl, '/healthz', {})).ok;
  } catch (error) {
    if (error instanceof DaemonUnreachableError) return false;
    throw error;
  }
}

/** Nothing answered at the daemon's address: not running, wrong --url, or a firewall. */
export class DaemonUnreachableError extends Error {
  constructor(baseUrl: string, cause: unknown) {
    super(`cannot reach relengd at ${baseUrl}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

async function reach(baseUrl: string, path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(`${baseUrl.replace(/\/$/, '')}${path}`, init);
  } catch (error) {
    // A network failure is fetch's "fetch failed", its cause saying why (ECONNREFUSED, DNS, TLS);
    // anything else (a header fetch will not send) is not about reaching the daemon.
    if (error instanceof TypeError && error.message === 'fetch failed') throw new DaemonUnreachableError(baseUrl, error.cause ?? error);
    throw error;
  }
}

function authorization(options: PublishOptions): Record<string, string> {
  return options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {};
}

/** The request `publishOverHttp` sends for a message: binary-mode CloudEvents headers and the body. */
export function httpRequestOf(message: BusMessage): { headers: Record<string, string>; body: string } {
  const { headers, body } = HTTP.binary(toCloudEvent(message));
  return { headers: headers as Record<string, string>, body: body as string };
}

function toCloudEvent(message: BusMessage): CloudEvent<unknown> {
  const bare = message.topic.replace(/^.*?(relengd\.)/, '$1');
  const sentAt = message.headers?.['sent-at'];
  return new CloudEvent<unknown>(
    {
      id: message.id || idOfIdLessMessage(message.topic, message.body),
      type: bare.startsWith('relengd.') ? cloudEventTypeOf(bare) : message.topic,
      source: '/relengd/cli',
      ...(typeof sentAt === 'string' && !Number.isNaN(Date.parse(sentAt)) ? { time: new Date(sentAt).toISOString() } : {}),
      datacontenttype: 'application/json',
      data: message.body,
      [TOPIC_EXTENSION]: message.topic,
    },
    false,
  );
}
