/**
 * A strict reader of the Prometheus text exposition format (0.0.4), as a scraper reads /metrics:
 * every line is a HELP, a TYPE or a sample of a declared family, or it throws naming the line.
 */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name -> its TYPE. */
  types: Map<string, string>;
  samples: ParsedSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: ParsedSample[] = [];
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      if (!new RegExp(`^${NAME}$`).test(name!)) throw new Error(`bad metric name, ${where}`);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!)) throw new Error(`bad type, ${where}`);
        if (types.has(name!)) throw new Error(`family declared twice, ${where}`);
        types.set(name!, rest!);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample, ${where}`);
    const [, name, labelText, valueText] = match;
    const family = familyOf(name!, types);
    if (!family) throw new Error(`sample of an undeclared family, ${where}`);
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (valueText !== 'NaN' && Number.isNaN(value)) throw new Error(`bad value, ${where}`);
    samples.push({ name: name!, labels: labelText ? parseLabels(labelText, where) : {}, value });
  }
  return { types, samples };
}

/** The family a sample belongs to: itself, or a histogram's `_bucket`, `_sum`, `_count`. */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base && types.get(base) === 'histogram' ? base : undefined;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (!m || m.index !== start) throw new Error(`bad labels, ${where}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** Samples named `name` whose labels include `labels`. */
export function samplesOf(e: Exposition, name: string, labels: Record<string, string> = {}): ParsedSample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one sample named `name` with exactly these labels, or undefined. */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const keys = Object.keys(labels);
  return samplesOf(e, name, labels).find((s) => Object.keys(s.labels).length === keys.length)?.value;
}

/**
 * One histogram series: its buckets (cumulative, checked), sum and count; throws when the series
 * breaks the format's rules (buckets not ascending, counts going down, `+Inf` not equal to count).
 */
export function histogramOf(e: Exposition, name: string, labels: Record<string, string>) {
  const width = Object.keys(labels).length;
  const buckets = samplesOf(e, `${name}_bucket`, labels)
    .filter((s) => Object.keys(s.labels).length === width + 1)
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }));
  const sum = valueOf(e, `${name}_sum`, labels);
  const count = valueOf(e, `${name}_count`, labels);
  if (buckets.length === 0 || sum === undefined || count === undefined) throw new Error(`no histogram ${name}${JSON.stringify(labels)}`);
  for (let i = 1; i < buckets.length; i++) {
    if (!(buckets[i]!.le > buckets[i - 1]!.le) || buckets[i]!.count < buckets[i - 1]!.count) throw new Error(`${name} buckets not cumulative at le=${buckets[i]!.le}`);
  }
  if (buckets.at(-1)!.le !== Infinity || buckets.at(-1)!.count !== count) throw new Error(`${name}: the +Inf bucket must equal _count`);
  return { buckets, sum, count };
}
