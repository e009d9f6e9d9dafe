/**
 * `npm run bench`: runs the benchmarks (not tests) and prints one table.
 *   BENCH_MESSAGES  messages per case (default 50000; e.g. 5000 for a quick run)
 *   BENCH_ONLY      comma-separated benchmark names to run (default: all): amqp-consume, amqp-consume-postgres, kafka, replay, latency
 *   BENCH_PG_PREFETCH, BENCH_PG_REPLICAS, RELENGD_BENCH_POSTGRES_URL: see amqp-consume-postgres.ts
 *   BENCH_EVENTS    events stored then replayed by the replay benchmark (default 100000)
 *   BENCH_BACKLOG   messages of the backlog whose drain time the consumer notes estimate (default 1000000)
 *   AMQP_URL        the broker (default amqp://guest:guest@127.0.0.1:5672)
 *   BENCH_PREFETCH, BENCH_LOG_LEVEL: see amqp-consume.ts (BENCH_LOG_LEVEL also kafka-consume.ts)
 *   BENCH_LATENCY_SECONDS, BENCH_LATENCY_LOADS, BENCH_LATENCY_TRIGGERS: see latency.ts
 */
import { amqpConsume } from './amqp-consume.ts';
import { amqpConsumePostgres } from './amqp-consume-postgres.ts';
import { kafkaConsume } from './kafka-consume.ts';
import { latency } from './latency.ts';
import { replay } from './replay.ts';
import type { Benchmark, BenchRow } from './types.ts';

const benchmarks: Benchmark[] = [amqpConsume, amqpConsumePostgres, kafkaConsume, replay, latency];

const messages = Number(process.env.BENCH_MESSAGES ?? 50_000);
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
if (!Number.isInteger(messages) || messages <= 0) {
  console.error(`BENCH_MESSAGES must be a positive integer, got ${process.env.BENCH_MESSAGES}`);
  process.exit(2);
}

const rows: BenchRow[] = [];
const notes: string[] = [];
for (const bench of benchmarks.filter((b) => !only || only.includes(b.name))) {
  process.stderr.write(`running ${bench.name} (${messages} messages)...\n`);
  const result = await bench.run({ messages });
  rows.push(...result.rows);
  notes.push(...result.notes.map((n) => `${bench.name}: ${n}`));
}
printTable(rows);
for (const note of notes) console.log(note);

function printTable(table: BenchRow[]): void {
  const header = ['benchmark', 'case', 'messages', 'seconds', 'msg/s', 'peak RSS MiB', 'CPU s'];
  const num = (n: number, digits: number): string => (Number.isNaN(n) ? '-' : n.toFixed(digits));
  const lines = table.map((r) => [r.benchmark, r.case, String(r.messages), r.seconds.toFixed(2), Math.round(r.rate).toString(), num(r.peakRssMiB, 0), num(r.cpuSeconds, 2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(format(l));
}
