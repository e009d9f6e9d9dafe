/**
 * Consuming from RabbitMQ into the PostgreSQL store (issue 11): relengd with `store.url`, one
 * consumer process and three competing ones (replicas: the same queue, the same database), next to
 * the raw amqplib ceiling and relengd on SQLite measured in the same run, the same way as
 * amqp-consume.ts (whose rows and targets this does not touch).
 *
 * BENCH_PG_PREFETCH (a list; default 500, `bus.amqp.prefetch`'s default), BENCH_MODES (stream,drain),
 * BENCH_PG_REPLICAS (default 1,3). The database: a throwaway one per case on the server at
 * RELENGD_BENCH_POSTGRES_URL (default RELENGD_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres),
 * dropped after. With several processes, seconds is the last one's, CPU and peak RSS are summed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type ChannelModel } from 'amqplib';
import { Client, escapeIdentifier } from 'pg';
import { declareTopology } from '../../src/bus/amqp/index.ts';
import { PostgresStore } from '../../src/store/postgres/index.ts';
import { measured, runConsumerProcess, type Measured } from './consumer-process.ts';
import { benchMessages, publishAll, type BenchMessage } from './messages.ts';
import { drainNote, ratioNote } from './targets.ts';
import type { Benchmark, BenchRow } from './types.ts';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const adminUrl = process.env.RELENGD_BENCH_POSTGRES_URL ?? process.env.RELENGD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const prefetches = (process.env.BENCH_PG_PREFETCH ?? '500').split(',').map(Number);
const replicaCounts = (process.env.BENCH_PG_REPLICAS ?? '1,3').split(',').map(Number);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
const modes = (process.env.BENCH_MODES ?? 'stream,drain').split(',').map((m) => m.trim()) as Array<'stream' | 'drain'>;
const worker = join(dirname(fileURLToPath(import.meta.url)), 'amqp-consumer-process.ts');

/** What runs: the worker's kind and how many processes. */
interface Consumers {
  kind: 'raw' | 'relengd' | 'postgres';
  processes: number;
  label: string;
}

export const amqpConsumePostgres: Benchmark = {
  name: 'amqp-consume-postgres',
  async run({ messages: count }) {
    const run = randomUUID().slice(0, 8);
    const prefix = `bench${run}.org.fedoraproject.prod`;
    const routingKey = `${prefix}.bodhi.compose.complete`;
    const messages = benchMessages(count);
    const admin = await connect(url, { noDelay: true });
    const queues: string[] = [];
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    const cases: Consumers[] = [
      { kind: 'raw', processes: 1, label: 'raw amqplib, ack only' },
      { kind: 'relengd', processes: 1, label: 'relengd: SQLite FULL, 1 process' },
      ...replicaCounts.map((n): Consumers => ({ kind: 'postgres', processes: n, label: `relengd: PostgreSQL, ${n} process${n === 1 ? '' : 'es'}` })),
    ];
    try {
      for (const prefetch of prefetches) {
        for (const mode of modes) {
          const rates = new Map<Consumers, number>();
          for (const c of cases) {
            const queue = `relengd-bench-pg-${mode}-${prefetch}-${c.kind}${c.processes}-${run}`;
            queues.push(queue);
            const m = await runCase(admin, mode, c, prefetch, queue, prefix, routingKey, messages);
            rates.set(c, count / m.seconds);
            rows.push({ benchmark: 'amqp-consume-postgres', case: `${mode}, prefetch ${prefetch}: ${c.label}`, messages: count, rate: count / m.seconds, seconds: m.seconds, peakRssMiB: m.peakRssMiB, cpuSeconds: m.cpuSeconds });
          }
          const raw = rates.get(cases[0]!)!;
          const sqlite = rates.get(cases[1]!)!;
          notes.push(`${mode}, prefetch ${prefetch}: SQLite ${ratioNote(sqlite, raw)}`);
          for (const c of cases.slice(2)) {
            const rate = rates.get(c)!;
            notes.push(`${mode}, prefetch ${prefetch}: PostgreSQL x${c.processes}: ${ratioNote(rate, raw)}; PostgreSQL / SQLite = ${(rate / sqlite).toFixed(2)}; ${drainNote(rate, raw)}`);
          }
        }
      }
      notes.push(`${count} persistent messages, quorum queue, relengd log level ${logLevel} (to /dev/null); PostgreSQL at ${adminUrl.replace(/:[^:@/]*@/, ':***@')}, a fresh database per case; several processes: seconds until the last one saw all ${count} stored, CPU and peak RSS summed`);
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

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** An empty database with relengd's schema (migrated here once, not raced by the consumers); dropped by `drop`. */
async function throwawayStore(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `relengd_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${escapeIdentifier(name)}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${name}`;
  await (await PostgresStore.open(dbUrl.href)).close();
  return { url: dbUrl.href, drop: () => adminQuery(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`) };
}

async function runCase(
  admin: ChannelModel,
  mode: 'stream' | 'drain',
  consumers: Consumers,
  prefetch: number,
  queue: string,
  prefix: string,
  routingKey: string,
  messages: readonly BenchMessage[],
): Promise<Measured> {
  const database = consumers.kind === 'postgres' ? await throwawayStore() : undefined;
  const ch = await admin.createConfirmChannel();
  try {
    await declareTopology(ch, { queue, deadLetter: `${queue}.dead`, deliveryLimit: 5, bindingKeys: [routingKey] });
    const args = [consumers.kind, queue, prefix, String(messages.length), String(prefetch), logLevel, ...(database ? [database.url] : [])];
    if (mode === 'drain') {
      await publishAll(ch, routingKey, messages);
      return combine(await Promise.all(Array.from({ length: consumers.processes }, () => consumer(args).done)), messages.length);
    }
    const started = Array.from({ length: consumers.processes }, () => consumer(args));
    await Promise.all(started.map((c) => c.ready));
    const start = Number(process.hrtime.bigint());
    await publishAll(ch, routingKey, messages);
    const ackedAt = Math.max(...(await Promise.all(started.map((c) => c.acked))));
    return { ...combine(await Promise.all(started.map((c) => c.done)), messages.length), seconds: (ackedAt - start) / 1e9 };
  } finally {
    await ch.unbindQueue(queue, 'amq.topic', routingKey).catch(() => undefined);
    await ch.close().catch(() => undefined);
    await database?.drop();
  }
}

/** Several processes as one: the slowest one's time, CPU and RSS summed; their commits must add up to every message. */
function combine(parts: ReadonlyArray<Measured & { committed?: number | undefined }>, count: number): Measured {
  const committed = parts.map((p) => p.committed);
  if (committed.every((c) => c !== undefined) && committed.reduce((a, b) => a + b, 0) !== count) {
    throw new Error(`the consumers committed ${committed.join(' + ')} messages, not ${count}`);
  }
  return {
    seconds: Math.max(...parts.map((p) => p.seconds)),
    peakRssMiB: parts.reduce((a, p) => a + p.peakRssMiB, 0),
    cpuSeconds: parts.reduce((a, p) => a + p.cpuSeconds, 0),
  };
}

function consumer(args: readonly string[]): { ready: Promise<void>; acked: Promise<number>; done: Promise<Measured & { committed?: number | undefined }> } {
  let onReady: () => void = () => undefined;
  let onAcked: (at: number) => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const acked = new Promise<number>((resolve) => (onAcked = resolve));
  let seconds = 0;
  const done = runConsumerProcess(worker, args, (event) => {
    if (event.event === 'ready') onReady();
    if (event.event === 'acked') {
      seconds = Number(event.seconds);
      onAcked(Number(process.hrtime.bigint()));
    }
  }).then((event) => ({ ...measured(event, seconds), committed: event.committed === undefined ? undefined : Number(event.committed) }));
  return { ready, acked, done };
}
