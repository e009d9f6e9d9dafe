/** The exposition relengd writes, read back the way a Prometheus scraper reads it. */
import { describe, expect, it } from 'vitest';
import { Histogram, renderMetrics } from '../../../src/http/metrics.ts';
import { histogramOf, parseExposition, valueOf } from '../../helpers/prometheus.ts';

describe('renderMetrics', () => {
  it('writes a histogram as cumulative buckets ending in +Inf, with its sum and count', () => {
    const h = new Histogram([0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 3, 3, 120]) h.observe(v);
    const e = parseExposition(renderMetrics([{ name: 'x_seconds', help: 'x', type: 'histogram', series: [{ labels: { kind: 'compose' }, histogram: h }] }]));
    expect(e.types.get('x_seconds')).toBe('histogram');
    expect(histogramOf(e, 'x_seconds', { kind: 'compose' })).toEqual({
      buckets: [
        { le: 0.1, count: 2 },
        { le: 1, count: 3 },
        { le: 10, count: 5 },
        { le: Infinity, count: 6 },
      ],
      sum: 126.65,
      count: 6,
    });
  });

  it('escapes label values and help text so that any stream name or reason reads back as it was', () => {
    const reason = 'a "quoted"\\path\nnext line';
    const text = renderMetrics([{ name: 'y_total', help: 'help with \\ and\nnewline', type: 'counter', values: [{ labels: { reason }, value: 3 }] }]);
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
    expect(valueOf(parseExposition(text), 'y_total', { reason })).toBe(3);
  });

  it('refuses histogram bounds that are not ascending', () => {
    expect(() => new Histogram([1, 1])).toThrow(RangeError);
    expect(() => new Histogram([1, Infinity])).toThrow(RangeError);
  });
});
