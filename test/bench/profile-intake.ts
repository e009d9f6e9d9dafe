/**
 * `npm run bench:profile`: where relengd's intake spends its time while draining a full queue (the
 * bench's "drain" case), the first step issue 16 asks for before any change. Fills a fresh quorum
 * queue with PROFILE_MESSAGES (default 50000) bench messages, drains it with the relengd consumer
 * process of the bench under `--cpu-prof`, and prints the functions with the most self time, per
 * thread, and how much CPU the local RabbitMQ (beam.smp, when this machine runs it) used meanwhile:
 * on a small machine the broker's share says how much room the consumer has left.
 *   PROFILE_MESSAGES, PROFILE_PREFETCH (default 500), PROFILE_TOP (default 25), AMQP_URL
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';
import { declareTopology } from '../../src/bus/amqp/index.ts';
import { benchMessages, publishAll } from './messages.ts';

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const count = Number(process.env.PROFILE_MESSAGES ?? 50_000);
const prefetch = Number(process.env.PROFILE_PREFETCH ?? 500);
const top = Number(process.env.PROFILE_TOP ?? 25);
const worker = join(dirname(fileURLToPath(import.meta.url)), 'amqp-consumer-process.ts');

const run = randomUUID().slice(0, 8);
const prefix = `profile${run}.org.fedoraproject.prod`;
const routingKey = `${prefix}.bodhi.compose.complete`;
const queue = `relengd-profile-${run}`;
const dir = mkdtempSync(join(tmpdir(), 'relengd-profile-'));

const connection = await connect(url);
const channel = await connection.createConfirmChannel();
try {
  await declareTopology(channel, { queue, deadLetter: `${queue}.dead`, deliveryLimit: 5, bindingKeys: [routingKey] });
  await publishAll(channel, routingKey, benchMessages(count));
  const beamBefore = beamCpuSeconds();
  const consumer = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, worker, 'relengd', queue, prefix, String(count), String(prefetch), 'info'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (consumer.status !== 0) throw new Error(`the consumer exited with ${consumer.status}`);
  const beamUsed = beamBefore === undefined ? undefined : beamCpuSeconds()! - beamBefore;
  const lines = consumer.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const seconds = Number(lines.find((l) => l.event === 'acked')?.seconds);
  const done = lines.find((l) => l.event === 'done')!;
  console.log(`${count} messages, prefetch ${prefetch}: drained in ${seconds.toFixed(2)} s (${Math.round(count / seconds)} msg/s), ${Number(done.batches)} commits`);
  console.log(`consumer CPU ${Number(done.cpuSeconds).toFixed(2)} s${beamUsed === undefined ? '' : `, local RabbitMQ CPU ${beamUsed.toFixed(2)} s`} (this machine has ${navigatorCores()} cores)`);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    console.log(`\n${file.includes('.0.') ? 'main thread' : 'worker thread'} (${file}): self time, top ${top}`);
    for (const row of selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile).slice(0, top)) console.log(row);
  }
} finally {
  await channel.deleteQueue(queue).catch(() => undefined);
  await channel.deleteQueue(`${queue}.dead`).catch(() => undefined);
  await channel.deleteExchange(`${queue}.dead`).catch(() => undefined);
  await connection.close();
  rmSync(dir, { recursive: true, force: true });
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** `  1480 ms  35.7 %  inTransaction store/database.ts:40`, most first. */
function selfTimes(profile: CpuProfile): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .map(([key, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`);
}

/** CPU seconds used so far by the local RabbitMQ (beam.smp), if this machine runs it. */
function beamCpuSeconds(): number | undefined {
  let pid: string | undefined;
  try {
    pid = execFileSync('pgrep', ['-o', 'beam.smp'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the command name), in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function navigatorCores(): number {
  return navigator.hardwareConcurrency;
}
