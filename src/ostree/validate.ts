/**
 * Argument checks run before any `ostree` command, so a bad value never reaches the CLI.
 * Every value ends up as one argv element, so there is no shell to inject into; these checks keep
 * values from being read as options (`-rf`), paths (`../etc`) or something other than meant.
 */
import { refProblem } from '../config/index.ts';
import { InvalidRefError } from '../errors.ts';
import { InvalidChecksumError, InvalidOstreeArgumentError } from './errors.ts';

const CHECKSUM = /^[0-9a-f]{64}$/;
const ALL_HEX = /^[0-9a-f]+$/;
/** ISO 8601 with a zone: ostree reads a zone-less time as host-local time, which differs by machine. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** True for a full commit checksum (SHA-256, 64 lowercase hex digits). */
export function isChecksum(value: string): boolean {
  return typeof value === 'string' && CHECKSUM.test(value);
}

export function assertChecksum(value: string): void {
  if (!isChecksum(value)) throw new InvalidChecksumError(printable(value));
}

/**
 * The OSTree ref grammar (see `src/config/ostree-ref.ts`), plus one rule of ours: a ref made only of
 * lowercase hex digits is refused, because `ostree rev-parse` (and so `refs --create`, `log`,
 * `commit --tree=ref=`) resolves such a name as a full or abbreviated commit checksum before looking
 * at refs — even a one-digit name like `2` — so it would silently mean a different commit.
 */
export function assertRef(ref: string): void {
  if (typeof ref !== 'string') throw new InvalidRefError(printable(ref), 'not a string');
  const why = refProblem(ref) ?? (ALL_HEX.test(ref) ? 'is all lowercase hex digits (ostree would resolve it as a commit checksum)' : undefined);
  if (why !== undefined) throw new InvalidRefError(ref, why);
}

/** A full checksum, or else a valid ref. */
export function assertRev(rev: string): void {
  if (!isChecksum(rev)) assertRef(rev);
}

/** Free text (subject, body, value, path): anything but NUL, which no argv element can carry. */
export function assertText(argument: string, value: string): void {
  if (typeof value !== 'string') throw new InvalidOstreeArgumentError(argument, 'not a string');
  if (value.includes('\0')) throw new InvalidOstreeArgumentError(argument, 'contains a NUL character');
}

/** A metadata key: non-empty, and no `=` (`--add-metadata-string=K=V` splits at the first one). */
export function assertMetadataKey(key: string): void {
  assertText('metadata key', key);
  if (key === '') throw new InvalidOstreeArgumentError('metadata key', 'empty');
  if (key.includes('=')) throw new InvalidOstreeArgumentError('metadata key', `${JSON.stringify(key)} contains "="`);
}

/** An ISO 8601 date-time with `Z` or an offset; ostree keeps whole seconds (fractions are dropped). */
export function assertTimestamp(timestamp: string): void {
  assertText('timestamp', timestamp);
  if (!TIMESTAMP.test(timestamp) || Number.isNaN(Date.parse(timestamp))) {
    throw new InvalidOstreeArgumentError('timestamp', `${JSON.stringify(timestamp)} is not an ISO 8601 date-time with a zone (2026-11-26T10:00:00Z)`);
  }
}

/** Any value as text for an error message; String() itself throws on some objects (`{toString: []}`). */
function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
