/**
 * The two sides of a benchmark consumer that runs in a process of its own (so that its CPU and
 * peak RSS are its own): the child reports JSON lines on stdout, the parent reads them.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { peakRssMiB } from './peak-rss.ts';

/** A line a consumer process reports: `event` names it (`ready`, `acked`, `committed`, `done`, ...). */
export type ConsumerEvent = { event: string } & Record<string, unknown>;

/** Child side: one JSON line. */
export function report(event: ConsumerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** Child side: runs the consumer, then reports `done` with its CPU time, peak RSS and what it returned. */
export async function reportDone(consume: () => Promise<Record<string, unknown>>): Promise<void> {
  const cpu = process.cpuUsage();
  const extra = await consume();
  const used = process.cpuUsage(cpu);
  report({ event: 'done', peakRssMiB: peakRssMiB(), cpuSeconds: (used.user + used.system) / 1e6, ...extra });
}

/** What the parent reports of a consumer process. */
export interface Measured {
  seconds: number;
  peakRssMiB: number;
  cpuSeconds: number;
  /** relengd only: store transactions (batches) used. */
  batches?: number | undefined;
}

/** Parent side: the `done` line's figures, with the `seconds` the consumer reported earlier. */
export function measured(done: ConsumerEvent, seconds: number): Measured {
  return { seconds, peakRssMiB: Number(done.peakRssMiB), cpuSeconds: Number(done.cpuSeconds), batches: done.batches === undefined ? undefined : Number(done.batches) };
}

/** Parent side: runs `node worker ...args`, hands each line to `on`, resolves with the `done` line; rejects when the process fails. */
export function runConsumerProcess(worker: string, args: readonly string[], on: (event: ConsumerEvent) => void = () => undefined): Promise<ConsumerEvent> {
  const child = spawn(process.execPath, [worker, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<ConsumerEvent>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as ConsumerEvent;
      on(event);
      if (event.event === 'done') resolve(event);
    });
    child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`${worker} ${args[0] ?? ''} exited with ${code}`))));
  });
}
