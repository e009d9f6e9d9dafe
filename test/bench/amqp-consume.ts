/**
 * Consuming from RabbitMQ: relengd (decode, validate, store in SQLite with synchronous=FULL, ack)
 * against the ceiling, a raw amqplib consumer that only acks. The same messages, a fresh quorum
 * queue per case declared as relengd declares it, the same prefetch; each consumer runs in a
 * process of its own (amqp-consumer-process.ts) so that CPU and peak RSS are its own.
 *
 * Prefetch (BENCH_PREFETCH, a list; default 50,500): 500 is `bus.amqp.prefetch`'s default, 50 a
 * small window, where each commit's wait for the disk shows most.
 *
 * Each mode's note gives relengd / raw against the target (>= 0.95, targets.ts), the durable floor
 * between them (amqp-consumer-process.ts: what storing each message exactly once costs on this
 * machine, before any decoding) and the time a backlog of BENCH_BACKLOG messages (default
 * 1,000,000) takes to drain at the measured rates.
 *
 * Two modes (BENCH_MODES=stream,drain):
 * - stream: the consumer is running and the messages are published while it consumes (the way a
 *   bus delivers them); rate = messages / (first publish .. last ack). The broker, taking
 *   persistent publishes into a quorum queue and delivering them, is the ceiling.
 * - drain: the queue is filled first, then the consumer drains it; rate = messages / consumer time.
 *   Shows what each consumer costs when the broker is not the limit.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type ChannelModel } from 'amqplib';
import { declareTopology } from '../../src/bus/amqp/index.ts';
import { measured, runConsumerProcess, type Measured } from './consumer-process.ts';
import { benchMessages, publishAll, type BenchMessage } from './messages.ts';
import { BACKLOG, drainNote, floorNote, ratioNote } from './targets.ts';
import type { Benchmark, BenchRow } from './types.ts';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefetches = (process.env.BENCH_PREFETCH ?? '50,500').split(',').map(Number);
/** relengd logs one line per stored message at `info` (to /dev/null here, but written). */
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
/**
 * Rounds per case (BENCH_ROUNDS, default 3). The three consumers take turns, round after round, and
 * each is reported at its median: on a shared machine one run's rate moves by half from one minute
 * to the next, and a single slow moment of one consumer would decide the ratio.
 */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got ${process.env.BENCH_ROUNDS}`);
const modes = (process.env.BENCH_MODES ?? 'stream,drain').split(',').map((m) => m.trim()) as Array<'stream' | 'drain'>;
const worker = join(dirname(fileURLToPath(import.meta.url)), 'amqp-consumer-process.ts');

const KINDS = ['raw', 'floor', 'relengd'] as const;
type Kind = (typeof KINDS)[number];
const label: Record<Kind, string> = {
  raw: 'raw amqplib, ack only',
  floor: 'durable floor: id + body into SQLite FULL, ack',
  relengd: 'relengd: decode, validate, SQLite FULL, ack',
};

export const amqpConsume: Benchmark = {
  name: 'amqp-consume',
  async run({ messages: count }) {
    const run = randomUUID().slice(0, 8);
    const prefix = `bench${run}.org.fedoraproject.prod`;
    const routingKey = `${prefix}.bodhi.compose.complete`;
    const messages = benchMessages(count);
    const admin = await connect(url, { noDelay: true });
    const queues: string[] = [];
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    try {
      for (const prefetch of prefetches) {
        for (const mode of modes) {
          const runs: Record<Kind, Measured[]> = { raw: [], floor: [], relengd: [] };
          for (let round = 1; round <= rounds; round++) {
            for (const kind of KINDS) {
              const queue = `relengd-bench-${mode}-${prefetch}-${kind}-${round}-${run}`;
              queues.push(queue);
              runs[kind].push(await runCase(admin, { mode, kind, prefetch }, queue, prefix, routingKey, messages));
            }
          }
          const median = { raw: medianRun(runs.raw), floor: medianRun(runs.floor), relengd: medianRun(runs.relengd) };
          const rates = { raw: count / median.raw.seconds, floor: count / median.floor.seconds, relengd: count / median.relengd.seconds };
          for (const kind of KINDS) {
            const m = median[kind];
            rows.push({ benchmark: 'amqp-consume', case: `${mode}, prefetch ${prefetch}: ${label[kind]}`, messages: count, rate: rates[kind], seconds: m.seconds, peakRssMiB: m.peakRssMiB, cpuSeconds: m.cpuSeconds });
          }
          const batches = median.relengd.batches ?? 0;
          const spread = rounds > 1 ? `; over ${rounds} rounds (medians above): ${KINDS.map((kind) => `${kind} ${rateRange(runs[kind], count)}`).join(', ')} msg/s` : '';
          notes.push(`${mode}, prefetch ${prefetch}: ${ratioNote(rates.relengd, rates.raw)}; ${floorNote(rates.relengd, rates.floor, rates.raw)}; ${drainNote(rates.relengd, rates.raw)}; relengd committed ${count} messages in ${batches} transactions (${(count / batches).toFixed(0)} per commit)${spread}`);
        }
      }
      notes.push(`${count} persistent messages of ${messages[0]!.content.length} bytes, quorum queue, relengd log level ${logLevel} (to /dev/null); drain times for BENCH_BACKLOG=${BACKLOG}`);
      return { rows, notes };
    } finally {
      const ch = await admin.createChannel();
      for (const q of queues) {
        await ch.deleteQueue(q).catch(() => undefined);
        await ch.deleteQueue(`${q}.dead`).catch(() => undefined);
        await ch.deleteExchange(`${q}.dead`).catch(() => undefined);
      }
      await admin.close();
    }
  },
};

/** The run of median time (the upper middle of an even count). */
function medianRun(runs: readonly Measured[]): Measured {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)]!;
}

/** `15,120-16,840`: the slowest and the fastest round's rate. */
function rateRange(runs: readonly Measured[], count: number): string {
  const rates = runs.map((m) => Math.round(count / m.seconds));
  return `${Math.min(...rates).toLocaleString('en-US')}-${Math.max(...rates).toLocaleString('en-US')}`;
}

interface Case {
  mode: 'stream' | 'drain';
  kind: Kind;
  prefetch: number;
}

async function runCase(
  admin: ChannelModel,
  { mode, kind, prefetch }: Case,
  queue: string,
  prefix: string,
  routingKey: string,
  messages: readonly BenchMessage[],
): Promise<Measured> {
  const ch = await admin.createConfirmChannel();
  try {
    await declareTopology(ch, { queue, deadLetter: `${queue}.dead`, deliveryLimit: 5, bindingKeys: [routingKey] });
    if (mode === 'drain') {
      await publishAll(ch, routingKey, messages);
      return await consumer(kind, prefetch, queue, prefix, messages.length).done;
    }
    const c = consumer(kind, prefetch, queue, prefix, messages.length);
    await c.ready;
    const start = Number(process.hrtime.bigint());
    await publishAll(ch, routingKey, messages);
    const ackedAt = await c.acked;
    return { ...(await c.done), seconds: (ackedAt - start) / 1e9 };
  } finally {
    await ch.unbindQueue(queue, 'amq.topic', routingKey).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
}

function consumer(kind: Kind, prefetch: number, queue: string, prefix: string, count: number): { ready: Promise<void>; acked: Promise<number>; done: Promise<Measured> } {
  let onReady: () => void = () => undefined;
  let onAcked: (at: number) => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const acked = new Promise<number>((resolve) => (onAcked = resolve));
  let seconds = 0;
  const done = runConsumerProcess(worker, [kind, queue, prefix, String(count), String(prefetch), logLevel], (event) => {
    if (event.event === 'ready') onReady();
    if (event.event === 'acked') {
      seconds = Number(event.seconds);
      onAcked(Number(process.hrtime.bigint()));
    }
  }).then((event) => measured(event, seconds));
  return { ready, acked, done };
}
