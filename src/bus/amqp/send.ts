import type { Options } from 'amqplib';
import type { AmqpConfig } from '../../config/index.ts';
import { idOfIdLessMessage } from '../../events/ids.ts';
import { AmqpError } from './errors.ts';
import { FEDORA_SEVERITY_INFO, fedoraSentAt } from './codec.ts';
import { openConnection } from './connection.ts';
import { TOPIC_EXCHANGE } from './topology.ts';

/** A message as a file holds it (`fedora-messaging publish`, datagrepper, relengd export): sent as is. */
export interface OutgoingMessage {
  topic: string;
  body: unknown;
  id?: string | undefined;
  headers?: Record<string, unknown> | undefined;
}

/**
 * Publishes messages to `amq.topic` the way Fedora Messaging does (JSON body, persistent,
 * `message_id`, the three Fedora headers, the file's own headers kept) and waits for the broker's
 * confirm. A message no queue is bound to comes back unroutable: that is an error, not a success.
 * @returns the message ids.
 */
export async function sendMessages(config: AmqpConfig, messages: readonly OutgoingMessage[]): Promise<string[]> {
  const connection = await openConnection({ config, connectionName: 'relengd publish' });
  const channel = await connection.createConfirmChannel();
  const returned: string[] = [];
  channel.on('return', (msg) => returned.push(`${msg.fields.routingKey} (${String(msg.properties.messageId)})`));
  channel.on('error', () => undefined);
  try {
    const ids: string[] = [];
    for (const m of messages) {
      const { content, options } = fedoraWireOf(m, new Date().toISOString());
      channel.publish(TOPIC_EXCHANGE, m.topic, content, { ...options, mandatory: true });
      ids.push(options.messageId);
    }
    await channel.waitForConfirms();
    if (returned.length > 0) throw new AmqpError(`no queue is bound to ${returned.join(', ')}: nobody received it`);
    return ids;
  } finally {
    await channel.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

/**
 * A message as Fedora Messaging puts it on the wire, `sent-at` = `now` unless the message has one.
 * A message without an id is sent with the one relengd would give it on arrival (`idOfIdLessMessage`).
 */
export function fedoraWireOf(m: OutgoingMessage, now: string): { content: Buffer; options: Options.Publish & { messageId: string } } {
  const headers = {
    fedora_messaging_schema: 'base.message',
    fedora_messaging_severity: FEDORA_SEVERITY_INFO,
    'sent-at': fedoraSentAt(now),
    ...(m.headers ?? {}),
  };
  const content = Buffer.from(JSON.stringify(m.body) ?? 'null', 'utf8');
  return { content, options: { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, messageId: m.id || idOfIdLessMessage(m.topic, m.body), headers } };
}
