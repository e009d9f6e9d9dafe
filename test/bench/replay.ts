import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { populateStore } from './replay-setup.ts';
import { REPLAY_TARGET_PER_SECOND, REPLAY_TARGET_RSS_MIB } from './targets.ts';
import type { Benchmark, BenchRow } from './types.ts';

export interface ReplayBenchResult {
  events: number;
  populateRate: number;
  replayRate: number;
  replaySeconds: number;
  maxRssMb: number;
  newDecisions: number;
}

/**
 * Replay rate of `count` stored events through the real listeners (targets.ts: 50,000 events/s,
 * peak RSS under 300 MiB). The baseline in the same run is the rate at which the same events were
 * first stored and dispatched.
 */
export async function replayBenchmark(count: number): Promise<ReplayBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'relengd-bench-replay-'));
  try {
    const populated = await populateStore(dir, count);
    const child = join(dirname(fileURLToPath(import.meta.url)), 'replay-child.ts');
    const out = JSON.parse(execFileSync(process.execPath, [child, dir], { encoding: 'utf8' })) as { events: number; seconds: number; emitted: number; enqueued: number; maxRssMb: number };
    return {
      events: out.events,
      populateRate: count / populated.seconds,
      replayRate: out.events / out.seconds,
      replaySeconds: out.seconds,
      maxRssMb: out.maxRssMb,
      newDecisions: out.emitted + out.enqueued,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For `npm run bench`: the replay rows and their ratio to the first dispatch of the same events. */
export const replay: Benchmark = {
  name: 'replay',
  async run() {
    const count = Number(process.env.BENCH_EVENTS ?? 100_000);
    const r = await replayBenchmark(count);
    const row = (name: string, rate: number, seconds: number, rss: number): BenchRow => ({ benchmark: 'replay', case: name, messages: r.events, seconds, rate, peakRssMiB: rss, cpuSeconds: Number.NaN });
    return {
      rows: [row('first dispatch (store + listeners)', r.populateRate, count / r.populateRate, Number.NaN), row('replay through the listeners', r.replayRate, r.replaySeconds, r.maxRssMb)],
      notes: [`${r.events} events: replay / first dispatch = ${(r.replayRate / r.populateRate).toFixed(2)}; replay ${Math.round(r.replayRate)} events/s (target >= ${REPLAY_TARGET_PER_SECOND}, ${r.replayRate >= REPLAY_TARGET_PER_SECOND ? 'met' : 'MISSED'}), peak RSS ${Math.round(r.maxRssMb)} MiB (target < ${REPLAY_TARGET_RSS_MIB}, ${r.maxRssMb < REPLAY_TARGET_RSS_MIB ? 'met' : 'MISSED'}); new decisions on replay: ${r.newDecisions}`],
    };
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = Number(process.env.BENCH_EVENTS ?? 100_000);
  const r = await replayBenchmark(count);
  console.log(`replay: ${r.events} events in ${r.replaySeconds.toFixed(2)} s = ${Math.round(r.replayRate)} events/s (first dispatch ${Math.round(r.populateRate)} events/s, ratio ${(r.replayRate / r.populateRate).toFixed(2)}); peak RSS ${Math.round(r.maxRssMb)} MB; new decisions ${r.newDecisions}`);
}
