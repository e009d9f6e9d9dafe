/**
 * Fedora-shaped benchmark messages: a valid bodhi.compose.complete (for a repo no stream lists, so
 * nothing downstream reacts) padded to about 1.5 KB with a realistic list of updates, published the
 * way Fedora Messaging publishes (persistent, JSON, message_id, its three headers).
 */
import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, Options } from 'amqplib';

export const MESSAGE_BYTES = 1536;

export interface BenchMessage {
  content: Buffer;
  options: Options.Publish;
}

export function benchMessages(count: number): BenchMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const body: Record<string, unknown> = { repo: 'f99-bench-updates', success: true, ctype: 'rpm', agent: 'bodhi', updates: [] as string[] };
    const updates = body.updates as string[];
    let text = JSON.stringify(body);
    for (let k = 0; text.length < MESSAGE_BYTES - 40; k++) {
      updates.push(`FEDORA-2024-${(i * 31 + k).toString(16).padStart(10, '0')}`);
      text = JSON.stringify(body);
    }
    body.padding = 'x'.repeat(Math.max(0, MESSAGE_BYTES - text.length - 14));
    return {
      content: Buffer.from(JSON.stringify(body), 'utf8'),
      options: {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 2,
        messageId: randomUUID(),
        headers: { fedora_messaging_schema: 'bodhi.compose.complete.v1', fedora_messaging_severity: 20, 'sent-at': '2024-06-21T12:52:29+00:00' },
      },
    };
  });
}

/** Publishes with confirms, at most `window` unconfirmed at a time, honouring 'drain'. */
export async function publishAll(channel: ConfirmChannel, routingKey: string, messages: readonly BenchMessage[], window = 1000): Promise<void> {
  for (let i = 0; i < messages.length; i += window) {
    for (const m of messages.slice(i, i + window)) {
      if (!channel.publish('amq.topic', routingKey, m.content, m.options)) await new Promise((resolve) => channel.once('drain', resolve));
    }
    await channel.waitForConfirms();
  }
}
