/**
 * Shared by the fuzz properties (test/fuzz/*.test.ts): how many cases, which seed, and the
 * bookkeeping `npm run fuzz` prints (test/fuzz/reporter.ts).
 *
 *   FUZZ_RUNS    cases per property (default 2,000: `npm test`; `npm run fuzz` sets 100,000)
 *   FUZZ_SEED    fast-check seed, to replay a run (each property prints its seed on failure)
 *   FUZZ_STRICT  1: known bugs fail their property too (with a shrunk counterexample) instead of
 *                being counted; see {@link KnownBugs}
 */
import fc from 'fast-check';
import type { TestContext } from 'vitest';

export const RUNS = positiveInt('FUZZ_RUNS', 2_000);
export const STRICT = process.env.FUZZ_STRICT === '1';
/** Generous per-test timeout: the slowest property (random configurations) takes 2-7 ms a case. */
export const TIMEOUT = Math.max(30_000, RUNS * 20);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** What a property leaves on its test for the fuzz reporter. */
export interface FuzzMeta {
  cases: number;
  ms: number;
  seed: number;
  /** Cases that hit a known, reported bug, by bug id (not counted as failures unless FUZZ_STRICT=1). */
  knownBugs: Record<string, number>;
  /** How the cases ended (`accepted`, `rejected: not-json`, ...): a fuzzer that only ever reaches one outcome is not fuzzing much. */
  outcomes: Record<string, number>;
}

declare module 'vitest' {
  interface TaskMeta {
    fuzz?: FuzzMeta;
  }
}

/**
 * Known bugs, reported but not fixed yet (the code under test is someone else's): a case that hits
 * one is counted instead of failing the property, so `npm test` stays green while the fuzzers keep
 * looking for anything new. Each id names exactly one failure mode, recognised by a narrow
 * predicate at the call site; anything else still fails. When the bug is fixed its count drops to
 * zero: then delete the tolerance. `FUZZ_STRICT=1` turns every tolerance off.
 */
export class KnownBugs {
  readonly counts: Record<string, number> = {};
  readonly outcomes: Record<string, number> = {};
  /** True when the caller may skip the rest of the case (the bug is tolerated); false under FUZZ_STRICT. */
  hit(id: string): boolean {
    if (STRICT) return false;
    this.counts[id] = (this.counts[id] ?? 0) + 1;
    return true;
  }
  /** Counts how a case ended, for the summary. */
  outcome(name: string): void {
    this.outcomes[name] = (this.outcomes[name] ?? 0) + 1;
  }
}

/**
 * Runs `check` on `RUNS` generated values (fast-check shrinks a failure to a small counterexample)
 * and records cases, time, seed and known-bug counts on the test.
 */
export function fuzz<T>(ctx: TestContext, arbitrary: fc.Arbitrary<T>, check: (value: T, known: KnownBugs) => void, runs = RUNS): void {
  const known = new KnownBugs();
  const seed = SEED ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const started = performance.now();
  let cases = 0;
  try {
    fc.assert(
      fc.property(arbitrary, (value) => {
        cases++;
        check(value, known);
      }),
      { numRuns: runs, seed },
    );
  } finally {
    ctx.task.meta.fuzz = { cases: Math.min(cases, runs), ms: performance.now() - started, seed, knownBugs: known.counts, outcomes: known.outcomes };
  }
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number >= 1, got ${JSON.stringify(raw)}`);
  return n;
}
