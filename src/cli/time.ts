import { UsageError } from '../errors.ts';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since` values: an ISO time, or a duration back from now (`30m`, `6h`, `7d`). */
export function parseSince(value: string, now: Date): string {
  const rel = /^(\d+)([smhd])$/.exec(value);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNITS[rel[2]!]!).toISOString();
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`not a time: ${JSON.stringify(value)} (use ISO 8601 like 2026-11-26T06:00:00Z, or 30m, 6h, 7d)`);
  return new Date(ms).toISOString();
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} takes a positive whole number, not ${JSON.stringify(value)}`);
  return n;
}
