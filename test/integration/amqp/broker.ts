/**
 * The shared RabbitMQ the AMQP tests publish to and consume from (`AMQP_URL`, default
 * amqp://guest:guest@127.0.0.1:5672). Unreachable: the tests skip and say why, except under
 * CI=true, where they fail.
 *
 * Test files share this broker with each other (and with whatever else uses the machine's broker):
 * names carry a random suffix, and nothing here restarts it, closes others' connections or adds
 * users. Tests that need that run a throwaway node of their own (private-node.ts).
 */
import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';

export const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const isCi = process.env.CI === 'true';

/** Null when the broker answers, else why not. */
async function probeBroker(): Promise<string | null> {
  try {
    const connection = await connect(amqpUrl, { timeout: 3000 });
    await connection.close();
    return null;
  } catch (error) {
    return `no RabbitMQ at ${amqpUrl.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message}); set AMQP_URL`;
  }
}

export const brokerMissingReason: string | null = await probeBroker();
export const brokerPresent = brokerMissingReason === null;
if (!brokerPresent && isCi) throw new Error(`CI=true but ${brokerMissingReason}`);
if (!brokerPresent) console.warn(`skipping AMQP tests: ${brokerMissingReason}`);

/** A describe title that says why it is skipped. */
export function titled(title: string, missing: string | null = brokerMissingReason): string {
  return missing === null ? title : `${title} (skipped: ${missing})`;
}

// ---------------------------------------------------------------------------------------------
// names and cleanup

export interface TestNames {
  /** Random, so concurrent tests never share a queue or a routing key. */
  suffix: string;
  queue: string;
  deadLetter: string;
  /** A topic prefix no other test publishes under. */
  prefix: string;
}

export function testNames(label: string): TestNames {
  const suffix = randomUUID().slice(0, 8);
  return { suffix, queue: `relengd-test-${label}-${suffix}`, deadLetter: `relengd-test-${label}-${suffix}.dead`, prefix: `test${suffix}.org.fedoraproject.prod` };
}

/** A plain amqplib connection for the test's own publishing and inspecting. */
export async function plainConnection(url = amqpUrl): Promise<{ connection: ChannelModel; channel: ConfirmChannel }> {
  const connection = await connect(url);
  connection.on('error', () => undefined);
  const channel = await connection.createConfirmChannel();
  channel.on('error', () => undefined);
  return { connection, channel };
}

/** Deletes the test's queues and dead-letter exchange (on a connection of its own: channels die on errors). */
export async function deleteTopology(names: Pick<TestNames, 'queue' | 'deadLetter'>, url = amqpUrl): Promise<void> {
  const connection = await connect(url);
  connection.on('error', () => undefined);
  try {
    for (const step of [
      (ch: Channel) => ch.deleteQueue(names.queue),
      (ch: Channel) => ch.deleteQueue(names.deadLetter),
      (ch: Channel) => ch.deleteExchange(names.deadLetter),
    ]) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await step(channel).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Messages sitting in a queue (ready, not unacked). */
export async function readyCount(channel: Channel, queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount;
}

/** Takes every message out of a queue (acking it), e.g. to inspect the dead-letter queue. */
export async function drainQueue(channel: Channel, queue: string): Promise<Array<Exclude<Awaited<ReturnType<Channel['get']>>, false>>> {
  const out = [];
  for (;;) {
    const msg = await channel.get(queue, { noAck: true });
    if (msg === false) return out;
    out.push(msg);
  }
}
