export type Labels = Record<string, string>;

/** A counter or gauge: one value per label set. */
export interface ScalarSample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Array<{ labels?: Labels; value: number }>;
}

/** A histogram: per label set, cumulative bucket counts, the sum and the count of what was observed. */
export interface HistogramSample {
  name: string;
  help: string;
  type: 'histogram';
  series: Array<{ labels?: Labels; histogram: Histogram }>;
}

/** One metric family as /metrics shows it. */
export type Sample = ScalarSample | HistogramSample;

/**
 * Observations counted into fixed buckets (upper bounds, ascending; `+Inf` is implied), the way a
 * Prometheus client library keeps a histogram: quantiles are derived on the server
 * (`histogram_quantile(0.99, rate(x_bucket[5m]))`), across replicas and time.
 */
export class Histogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) throw new RangeError(`histogram bounds must be finite and ascending: ${bounds.join(', ')}`);
    this.bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  get sum(): number {
    return this.#sum;
  }

  get count(): number {
    return this.#count;
  }

  /** Cumulative counts per upper bound, `+Inf` (everything) last. */
  buckets(): Array<{ le: number; count: number }> {
    let running = 0;
    const finite = this.bounds.map((le, i) => ({ le, count: (running += this.#counts[i]!) }));
    return [...finite, { le: Infinity, count: this.#count }];
  }
}

/** Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(samples: readonly Sample[]): string {
  const lines: string[] = [];
  for (const s of samples) {
    lines.push(`# HELP ${s.name} ${s.help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))}`, `# TYPE ${s.name} ${s.type}`);
    if (s.type !== 'histogram') {
      for (const v of s.values) lines.push(`${s.name}${labelText(v.labels)} ${numberText(v.value)}`);
      continue;
    }
    for (const { labels, histogram } of s.series) {
      for (const b of histogram.buckets()) lines.push(`${s.name}_bucket${labelText({ ...labels, le: numberText(b.le) })} ${b.count}`);
      lines.push(`${s.name}_sum${labelText(labels)} ${numberText(histogram.sum)}`, `${s.name}_count${labelText(labels)} ${histogram.count}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function labelText(labels: Labels | undefined): string {
  if (!labels || Object.keys(labels).length === 0) return '';
  return `{${Object.entries(labels)
    .map(([k, l]) => `${k}="${l.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
    .join(',')}}`;
}

/** Go's float formatting as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, else the shortest decimal. */
function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
