/**
 * What the benchmarks are held to (issue 16: intake at the broker's speed) and how a measured rate
 * reads as the time to drain a backlog (BENCH_BACKLOG messages, default 1,000,000: ten days of a
 * busy bus after an outage).
 */

/** relengd's rate over the raw consumer's, same run, in every consuming mode. */
export const RATIO_TARGET = 0.95;
/** Replay through the listeners: events per second, and peak RSS of the replaying process. */
export const REPLAY_TARGET_PER_SECOND = 50_000;
export const REPLAY_TARGET_RSS_MIB = 300;

export const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);

/** `relengd / raw = 0.97 (target >= 0.95, met)`. */
export function ratioNote(relengdRate: number, rawRate: number): string {
  const ratio = relengdRate / rawRate;
  return `relengd / raw = ${ratio.toFixed(2)} (target >= ${RATIO_TARGET}, ${ratio >= RATIO_TARGET ? 'met' : 'MISSED'})`;
}

/**
 * `floor / raw = 0.80, relengd / floor = 0.62`: the first is the most any consumer that stores each
 * message exactly once reaches here (below the target, the machine caps relengd before its code
 * does); the second is relengd's own cost on top of that.
 */
export function floorNote(relengdRate: number, floorRate: number, rawRate: number): string {
  return `durable floor / raw = ${(floorRate / rawRate).toFixed(2)}, relengd / floor = ${(relengdRate / floorRate).toFixed(2)}`;
}

/** `a backlog of 1,000,000 drains in 2.9 min (raw: 2.7 min)`. */
export function drainNote(relengdRate: number, rawRate: number, backlog = BACKLOG): string {
  return `a backlog of ${backlog.toLocaleString('en-US')} drains in ${duration(backlog / relengdRate)} at this rate (raw: ${duration(backlog / rawRate)})`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
