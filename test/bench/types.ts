/** What a benchmark module exports and what it measures; run.ts prints the rows as one table. */
export interface BenchRow {
  benchmark: string;
  /** What was measured, e.g. `raw amqplib (ack only)`. */
  case: string;
  messages: number;
  seconds: number;
  /** Messages per second. */
  rate: number;
  /** Peak resident set size of the process that did the work, in MiB. */
  peakRssMiB: number;
  /** CPU time of the process that did the work (user + system), in seconds. */
  cpuSeconds: number;
}

export interface BenchResult {
  rows: BenchRow[];
  /** Lines printed under the table (ratios, settings). */
  notes: string[];
}

export interface Benchmark {
  name: string;
  run(options: { messages: number }): Promise<BenchResult>;
}
