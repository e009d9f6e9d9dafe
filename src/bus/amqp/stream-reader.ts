import type { ConsumeMessage } from 'amqplib';
import type { AmqpConfig } from '../../config/index.ts';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import { decode } from './codec.ts';
import { openConnection } from './connection.ts';

export interface StreamReadOptions {
  config: AmqpConfig;
  /** Read messages published at or after this time (ISO). */
  since: string;
  /** Stop at messages published at or after this time (ISO). Default: when the read started. */
  until?: string | undefined;
  /** Stop once no message arrived for this long: the stream's end. @default 2000 */
  idleMs?: number | undefined;
  batchSize?: number | undefined;
  logger: Logger;
}

/**
 * Reads the configured RabbitMQ stream from a point in time (`x-stream-offset` with a timestamp)
 * and hands the messages over in batches, decoded as the consumer decodes them. The broker starts
 * at the chunk holding that time, so earlier messages of the chunk are skipped here by their own
 * publish time. Reading ends at `until` or when the stream has nothing more.
 */
export async function readStream(options: StreamReadOptions, onBatch: (batch: Delivery[]) => Promise<void>): Promise<{ read: number; handed: number }> {
  const { config } = options;
  if (!config.stream) throw new ConfigError('bus.amqp.stream', 'no stream is configured to replay from');
  const since = Date.parse(options.since);
  const until = Date.parse(options.until ?? new Date().toISOString());
  const idleMs = options.idleMs ?? 2000;
  const batchSize = options.batchSize ?? 500;
  const connection = await openConnection({ config, connectionName: `relengd replay ${config.stream}` });
  const channel = await connection.createChannel();
  channel.on('error', () => undefined); // reported by the consume call or the close below
  let read = 0;
  let handed = 0;
  try {
    await channel.prefetch(batchSize); // streams require a prefetch
    const done = new Promise<void>((resolve, reject) => {
      let batch: Array<{ msg: ConsumeMessage; delivery: Delivery }> = [];
      let idle: NodeJS.Timeout | undefined;
      let finished = false;
      let flushing = Promise.resolve();
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(idle);
        flushing.then(flush).then(resolve, reject);
      };
      const flush = async (): Promise<void> => {
        const current = batch;
        batch = [];
        if (current.length === 0) return;
        await onBatch(current.map((b) => b.delivery));
        handed += current.length;
        channel.ack(current.at(-1)!.msg, true);
      };
      const arm = (): void => {
        clearTimeout(idle);
        idle = setTimeout(finish, idleMs);
      };
      arm();
      void channel
        .consume(
          config.stream!,
          (msg) => {
            if (!msg || finished) return;
            read++;
            const at = publishTime(msg);
            if (at !== null && at >= until) return finish();
            if (at !== null && at < since) return void channel.ack(msg);
            // Recorded history: identities as the broker checked them, but never a command (src/trust.ts).
            batch.push({ msg, delivery: { ...decode(msg), source: 'replayed' } });
            if (batch.length >= batchSize) flushing = flushing.then(flush);
            arm();
          },
          { noAck: false, arguments: { 'x-stream-offset': { '!': 'timestamp', value: Math.floor(since / 1000) } } },
        )
        .catch(reject);
    });
    await done;
  } finally {
    await channel.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
  options.logger.info({ component: 'bus.amqp', stream: config.stream, read, handed }, 'stream read');
  return { read, handed };
}

/** When a message was published: Fedora Messaging's `sent-at`, else the AMQP timestamp. */
function publishTime(msg: ConsumeMessage): number | null {
  const sentAt = msg.properties.headers?.['sent-at'];
  if (typeof sentAt === 'string' && !Number.isNaN(Date.parse(sentAt))) return Date.parse(sentAt);
  const ts = msg.properties.timestamp as number | undefined;
  return typeof ts === 'number' ? ts * 1000 : null;
}
