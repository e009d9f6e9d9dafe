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
  const url = `${baseUrl.replace(/\/$/, '')}/events`;
  const auth: Record<string, string> = options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {};
  const response = await fetch(url, { method: 'POST', headers: { ...headers, ...auth }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
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
