/**
 * Latency over RabbitMQ: how long from a message that asks for a compose being accepted (stored)
 * to its compose job starting, while a steady background load flows through the same queue
 * (Fedora-shaped Bodhi messages for a repo no stream lists: each is decoded, validated, stored and
 * dispatched, and composes nothing). relengd runs as `relengd start`, a process of its own, per load.
 *
 * The figures come from the store afterwards, by the same reading /metrics uses for
 * `relengd_message_to_job_start_seconds` (ObservabilityReads): the job's first start against the
 * accepted time of the message its cause chain leads back to. Exact percentiles, not buckets.
 * Also reported: published -> job started (adds the time the message waited on the broker).
 *
 *   BENCH_LATENCY_SECONDS  seconds of load per level (default 30)
 *   BENCH_LATENCY_LOADS    background loads in msg/s (default 10,100,1000)
 *   BENCH_LATENCY_TRIGGERS compose triggers per second, round robin over 4 streams (default 4)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConfirmChannel } from 'amqplib';
import { openRepo } from '../../src/ostree/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ObservabilityReads } from '../../src/store/observability.ts';
import { spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { benchMessages, type BenchMessage } from './messages.ts';
import { peakRssMiB } from './peak-rss.ts';
import type { Benchmark, BenchRow } from './types.ts';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 30);
const loads = (process.env.BENCH_LATENCY_LOADS ?? '10,100,1000').split(',').map(Number);
const triggersPerSecond = Number(process.env.BENCH_LATENCY_TRIGGERS ?? 4);
const STREAMS = 4;
/** How long relengd may take to catch up after the load stops before the case fails. */
const DRAIN_MS = 120_000;

export const latency: Benchmark = {
  name: 'latency',
  async run() {
    for (const [name, value] of Object.entries({ BENCH_LATENCY_SECONDS: seconds, BENCH_LATENCY_TRIGGERS: triggersPerSecond, ...Object.fromEntries(loads.map((l, i) => [`BENCH_LATENCY_LOADS[${i}]`, l])) })) {
      if (!(value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
    }
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    for (const load of loads) {
      const r = await runLoad(load);
      rows.push({
        benchmark: 'latency',
        case: `${load} msg/s: accepted -> job started p50 ${ms(r.accepted.p50)}, p99 ${ms(r.accepted.p99)}`,
        messages: r.background,
        seconds: r.seconds,
        rate: r.background / r.seconds,
        peakRssMiB: r.peakRssMiB,
        cpuSeconds: r.cpuSeconds,
      });
      notes.push(
        `${load} msg/s: ${r.triggers} triggers, ${r.accepted.n} composes started (the rest merged into a compose still queued); accepted -> job started p50 ${ms(r.accepted.p50)}, p99 ${ms(r.accepted.p99)}, max ${ms(r.accepted.max)}; published -> job started p50 ${ms(r.published.p50)}, p99 ${ms(r.published.p99)}`,
      );
    }
    notes.push(`${seconds} s per load; ${triggersPerSecond} compose triggers/s over ${STREAMS} streams (compose command \`true\`: the job's start is measured, not its work); relengd at prefetch 50, jobs.concurrency ${STREAMS}; rate = background messages published per second`);
    return { rows, notes };
  },
};

interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

interface LoadResult {
  background: number;
  triggers: number;
  seconds: number;
  accepted: Percentiles;
  published: Percentiles;
  peakRssMiB: number;
  cpuSeconds: number;
}

async function runLoad(load: number): Promise<LoadResult> {
  const run = randomUUID().slice(0, 8);
  const prefix = `benchlat${run}.org.fedoraproject.prod`;
  const queue = `relengd-bench-latency-${load}-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'relengd-bench-latency-'));
  const connection = await connect(url, { noDelay: true });
  let daemon: DaemonProcess | null = null;
  try {
    await openRepo(join(dir, 'repo')).init('archive'); // the first job does not pay for it
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, configYaml(dir, prefix, queue));
    daemon = await spawnDaemon(configFile, { RELENGD_HTTP_PORT: '0' });
    const channel = await connection.createConfirmChannel();
    const routingKey = `${prefix}.bodhi.compose.complete`;
    const background = benchMessages(Math.ceil(load * seconds));
    const publishedAt = new Map<string, number>();
    const started = Date.now();
    const [sentBackground, triggers] = await paced(channel, seconds, [
      { rate: load, next: (i) => (i < background.length ? background[i]! : null) },
      {
        rate: triggersPerSecond,
        next: (i) => {
          const message = trigger(i % STREAMS, `${run}-${i}`);
          publishedAt.set(message.options.messageId!, Date.now());
          return message;
        },
      },
    ], routingKey);
    const elapsed = (Date.now() - started) / 1000;
    await channel.waitForConfirms();
    await channel.close();

    const db = openDatabase(join(dir, 'relengd.db'), { readOnly: true });
    try {
      await drained(db, sentBackground! + triggers!);
      const usage = processUsage(daemon.child.pid!);
      const reads = new ObservabilityReads(db);
      const accepted: number[] = [];
      const published: number[] = [];
      for (const job of reads.jobsStartedSince('').filter((j) => j.kind === 'compose')) {
        const at = reads.acceptedAtOf(job.causeEventId);
        if (at !== null) accepted.push(Date.parse(job.startedAt) - Date.parse(at));
        const messageId = (db.prepare('SELECT correlation_id FROM events WHERE id = ?').get(job.causeEventId) as { correlation_id: string } | undefined)?.correlation_id;
        const sent = messageId === undefined ? undefined : publishedAt.get(messageId);
        if (sent !== undefined) published.push(Date.parse(job.startedAt) - sent);
      }
      if (accepted.length === 0) throw new Error(`latency at ${load} msg/s: no compose job started`);
      return { background: sentBackground!, triggers: triggers!, seconds: elapsed, accepted: percentiles(accepted), published: percentiles(published), ...usage };
    } finally {
      db.close();
    }
  } finally {
    if (daemon) {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
    const ch = await connection.createChannel();
    await ch.deleteQueue(queue).catch(() => undefined);
    await ch.deleteQueue(`${queue}.dead`).catch(() => undefined);
    await ch.deleteExchange(`${queue}.dead`).catch(() => undefined);
    await connection.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Four streams, each composed when Bodhi pushes its own repo; the compose is `true` (no new commit). */
function configYaml(dir: string, prefix: string, queue: string): string {
  const streams = Array.from({ length: STREAMS }, (_, i) => `
  - id: bench-${i}
    group: bench-${i}
    release: "99"
    arch: x86_64
    triggers: { updatesRepos: [bench-updates-${i}] }
    ostree:
      repo: ${join(dir, 'repo')}
      ref: bench/${i}/x86_64
      treefile: ${join(dir, 'treefile.json')}
      compose: ["true"]`).join('');
  return `topicPrefix: ${prefix}
bus:
  transport: amqp
  amqp: { url: "${url}", queue: ${queue}, deadLetter: ${queue}.dead, prefetch: 50 }
store: { path: ${join(dir, 'relengd.db')} }
http: { host: 127.0.0.1, port: 0 }
jobs: { concurrency: ${STREAMS}, workdir: ${join(dir, 'jobs')} }
streams:${streams}
`;
}

/** Bodhi pushed stream `stream`'s repo: one compose job. */
function trigger(stream: number, id: string): BenchMessage {
  const body = { repo: `bench-updates-${stream}`, success: true, ctype: 'rpm', agent: 'bodhi', updates: [] };
  return {
    content: Buffer.from(JSON.stringify(body)),
    options: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      messageId: `trigger-${id}`,
      headers: { fedora_messaging_schema: 'bodhi.compose.complete.v1', fedora_messaging_severity: 20, 'sent-at': new Date().toISOString().replace(/\.\d+Z$/, '+00:00') },
    },
  };
}

interface Stream {
  rate: number;
  /** The i-th message of the stream, or null when it has no more. */
  next(i: number): BenchMessage | null;
}

/** Publishes each stream at its rate for `duration` seconds: every few ms, what is due by now. Resolves with how many of each it sent. */
async function paced(channel: ConfirmChannel, duration: number, streams: readonly Stream[], routingKey: string): Promise<number[]> {
  const start = performance.now();
  const sent = streams.map(() => 0);
  for (;;) {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= duration) break;
    for (const [k, s] of streams.entries()) {
      const due = Math.floor(elapsed * s.rate) + 1;
      while (sent[k]! < due) {
        const m = s.next(sent[k]!);
        if (m === null) break;
        sent[k]!++;
        if (!channel.publish('amq.topic', routingKey, m.content, m.options)) await new Promise((resolve) => channel.once('drain', resolve));
      }
    }
    await sleep(2);
  }
  return sent;
}

/** Waits until relengd took every message (stored, or rejected with its reason) and has no job queued or running. */
async function drained(db: ReturnType<typeof openDatabase>, messages: number): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  for (;;) {
    const inbound = (db.prepare("SELECT (SELECT count(*) FROM events WHERE origin = 'inbound') + (SELECT count(*) FROM rejected) AS n").get() as { n: number }).n;
    const busy = (db.prepare("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running')").get() as { n: number }).n;
    if (inbound >= messages && busy === 0) return;
    if (Date.now() > deadline) throw new Error(`relengd did not drain within ${DRAIN_MS / 1000} s: ${inbound} of ${messages} messages stored, ${busy} jobs queued or running`);
    await sleep(200);
  }
}

/** Peak RSS and CPU time of the daemon, from /proc (utime and stime in USER_HZ, 100 on Linux). */
function processUsage(pid: number): { peakRssMiB: number; cpuSeconds: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { peakRssMiB: peakRssMiB(pid), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return { peakRssMiB: NaN, cpuSeconds: NaN };
  }
}

/** Nearest-rank percentiles of millisecond samples. */
function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
  return { n: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1) ?? NaN };
}

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : `${Math.round(value)} ms`;
}
