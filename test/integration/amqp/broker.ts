/**
 * The RabbitMQ the AMQP tests run against (`AMQP_URL`, default amqp://guest:guest@127.0.0.1:5672).
 * Unreachable: the tests skip and say why, except under CI=true, where they fail. The same holds
 * for `rabbitmqctl` (users, closing connections, restarting the broker), run directly as root or
 * through `sudo -n`.
 *
 * Tests share one broker with each other and with other test files: names carry a random suffix,
 * and a broker restart takes an exclusive lock (see {@link brokerLock}) so that it never pulls the
 * broker from under a test running in another worker.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { sleep } from '../../../src/retry.ts';

export const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const isCi = process.env.CI === 'true';

/**
 * Null when the broker answers, else why not. Another test file may be restarting the broker
 * (it holds the exclusive lock meanwhile): wait for that before concluding there is none.
 */
async function probeBroker(): Promise<string | null> {
  for (let attempt = 0; ; attempt++) {
    for (let waited = 0; writerWaiting() && waited < 120_000; waited += 100) await sleep(100);
    try {
      const connection = await connect(amqpUrl, { timeout: 3000 });
      await connection.close();
      return null;
    } catch (error) {
      if (writerWaiting() && attempt < 5) continue;
      return `no RabbitMQ at ${amqpUrl.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message}); set AMQP_URL`;
    }
  }
}

/** A describe title that says why it is skipped. */
export function titled(title: string, missing: string | null = brokerMissingReason): string {
  return missing === null ? title : `${title} (skipped: ${missing})`;
}

// ---------------------------------------------------------------------------------------------
// rabbitmqctl

const exec = promisify(execFile);
const asRoot = process.getuid?.() === 0;

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const [file, argv] = asRoot ? ['rabbitmqctl', args] : ['sudo', ['-n', 'rabbitmqctl', ...args]];
  const { stdout } = await exec(file, argv, { timeout: 120_000 });
  return stdout;
}

/** Null when `rabbitmqctl` works against the broker (needs a local broker), else why not. Fails under CI=true. */
export async function probeRabbitmqctl(): Promise<string | null> {
  if (brokerMissingReason) return brokerMissingReason;
  let reason: string | null = null;
  try {
    await rabbitmqctl('-q', 'list_vhosts');
  } catch (error) {
    reason = `rabbitmqctl is not usable (${(error as Error).message.split('\n')[0]}); these tests need root or passwordless sudo on the broker host`;
  }
  if (reason && isCi) throw new Error(`CI=true but ${reason}`);
  if (reason) console.warn(`skipping AMQP tests that need rabbitmqctl: ${reason}`);
  return reason;
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
export async function deleteTopology(names: Pick<TestNames, 'queue' | 'deadLetter'>): Promise<void> {
  const connection = await connect(amqpUrl);
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

// ---------------------------------------------------------------------------------------------
// the broker lock: many tests share the broker, a restart has it alone

const LOCK_DIR = join(tmpdir(), 'relengd-amqp-test-lock');
const WRITER = join(LOCK_DIR, 'writer');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function writerPid(): number | null {
  try {
    return Number(readFileSync(join(WRITER, 'pid'), 'utf8')) || null;
  } catch {
    return null;
  }
}

function writerWaiting(): boolean {
  try {
    readdirSync(WRITER);
  } catch {
    return false;
  }
  const pid = writerPid();
  if (pid !== null && !alive(pid)) {
    rmSync(WRITER, { recursive: true, force: true });
    return false;
  }
  return true;
}

function liveReaders(): string[] {
  return readdirSync(LOCK_DIR)
    .filter((f) => f.startsWith('reader-'))
    .filter((f) => {
      if (alive(Number(f.split('-')[1]))) return true;
      rmSync(join(LOCK_DIR, f), { force: true });
      return false;
    });
}

/**
 * A lock across test processes: `shared` for tests that use the broker, `exclusive` for one that
 * restarts it. A waiting exclusive holder keeps new shared holders out (no starvation). Locks of
 * dead processes are cleared. Returns the release function.
 */
export async function brokerLock(mode: 'shared' | 'exclusive'): Promise<() => void> {
  mkdirSync(LOCK_DIR, { recursive: true });
  if (mode === 'shared') {
    for (;;) {
      while (writerWaiting()) await sleep(100);
      const mine = join(LOCK_DIR, `reader-${process.pid}-${randomUUID()}`);
      writeFileSync(mine, '');
      if (!writerWaiting()) return () => rmSync(mine, { force: true });
      rmSync(mine, { force: true });
    }
  }
  for (;;) {
    try {
      mkdirSync(WRITER);
      writeFileSync(join(WRITER, 'pid'), String(process.pid));
      break;
    } catch {
      writerWaiting(); // clears a dead writer's lock
      await sleep(100);
    }
  }
  while (liveReaders().length > 0) await sleep(100);
  return () => rmSync(WRITER, { recursive: true, force: true });
}

// Probed last: the lock helpers above must be initialised first.
export const brokerMissingReason: string | null = await probeBroker();
export const brokerPresent = brokerMissingReason === null;
if (!brokerPresent && isCi) throw new Error(`CI=true but ${brokerMissingReason}`);
if (!brokerPresent) console.warn(`skipping AMQP tests: ${brokerMissingReason}`);
