/**
 * Pure parsers of `ostree` 2022.7 output. Each is tested on output recorded from the real CLI
 * (test/unit/ostree/parse.test.ts). They throw `OstreeParseError` on anything they do not expect
 * rather than guess.
 */
import { OstreeParseError } from './errors.ts';

/** One commit as `ostree log` / `ostree show` print it. */
export type LogEntry = {
  checksum: string;
  /** The parent's checksum; set even when the parent object itself is not in the repository. */
  parent: string | null;
  /** Checksum of the root tree and its metadata: equal for two commits of the same content. */
  contentChecksum: string;
  /** Commit timestamp, ISO 8601 UTC (`2026-11-26T10:00:00Z`); ostree keeps whole seconds. */
  date: string;
  /** The `version` metadata string, when present. */
  version: string | null;
  /** `''` when the commit has none (ostree prints `(no subject)`). */
  subject: string;
  /** `''` when the commit has none. */
  body: string;
};

/** A static delta: `from: null` is a delta from scratch (`--empty`). */
export type StaticDelta = { from: string | null; to: string };

const CHECKSUM = /^[0-9a-f]{64}$/;
const COMMIT_LINE = /^commit ([0-9a-f]{64})$/;
const PARENT = /^Parent: {2}([0-9a-f]{64})$/;
const CONTENT = /^ContentChecksum: {2}([0-9a-f]{64})$/;
const DATE = /^Date: {2}(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) \+0000$/;
const VERSION = /^Version: (.*)$/;
const OTHER_HEADER = /^[A-Za-z][\w.-]*: /;
const INDENT = '    ';

/**
 * Parses `ostree log` output (newest first) or `ostree show C` (one entry). Shape per commit:
 * `commit C`, optional `Parent:  P`, `ContentChecksum:  X`, `Date:  Y +0000`, optional
 * `Version: V`, then a blank line and the subject indented by 4 spaces (or `(no subject)` without a
 * blank line), then optionally a blank line and the indented body, then a blank line. Lines outside
 * entries are skipped: `<< History beyond this commit not fetched >>` (the log of a partial pull
 * ends there) and the `Found N signature:` block `ostree show` adds for a signed commit.
 */
export function parseLog(stdout: string): LogEntry[] {
  const lines = stdout.split('\n');
  const entries: LogEntry[] = [];
  let i = 0;
  while (i < lines.length) {
    const match = COMMIT_LINE.exec(lines[i]!);
    if (match === null) {
      i++;
      continue;
    }
    const [entry, next] = parseEntry(lines, i + 1, match[1]!);
    entries.push(entry);
    i = next;
  }
  return entries;
}

function parseEntry(lines: string[], start: number, checksum: string): [LogEntry, number] {
  let parent: string | null = null;
  let contentChecksum: string | undefined;
  let date: string | undefined;
  let version: string | null = null;
  let hasSubject = true;
  let i = start;
  for (; ; i++) {
    const line = lines[i];
    if (line === undefined) throw new OstreeParseError('a blank line or "(no subject)" after the commit header', lines.slice(start - 1).join('\n'));
    if (line === '') break;
    if (line === '(no subject)') {
      hasSubject = false;
      break;
    }
    let m: RegExpExecArray | null;
    if ((m = PARENT.exec(line))) parent = m[1]!;
    else if ((m = CONTENT.exec(line))) contentChecksum = m[1]!;
    else if ((m = DATE.exec(line))) date = `${m[1]}T${m[2]}Z`;
    else if ((m = VERSION.exec(line))) version = m[1]!;
    else if (!OTHER_HEADER.test(line)) throw new OstreeParseError('a commit header line', line);
  }
  if (contentChecksum === undefined || date === undefined) {
    throw new OstreeParseError('ContentChecksum and Date headers', lines.slice(start - 1, i).join('\n'));
  }
  i++; // past the blank line or "(no subject)"
  let subject = '';
  if (hasSubject) {
    [subject, i] = readIndented(lines, i);
    i++; // the blank line after the subject
  }
  let body = '';
  if (!hasSubject && lines[i] === '') i++; // "(no subject)" is followed by a blank line before a body
  if (lines[i]?.startsWith(INDENT)) {
    [body, i] = readIndented(lines, i);
    i++;
  }
  return [{ checksum, parent, contentChecksum, date, version, subject, body }, i];
}

/** Reads consecutive lines indented by 4 spaces (an empty line of the text is printed as 4 spaces). */
function readIndented(lines: string[], start: number): [string, number] {
  let i = start;
  const text: string[] = [];
  while (lines[i]?.startsWith(INDENT)) text.push(lines[i++]!.slice(INDENT.length));
  if (text.length === 0) throw new OstreeParseError('an indented subject or body', lines[start] ?? '');
  return [text.join('\n'), i];
}

/**
 * Parses what `ostree show --print-metadata-key=K` prints for a string (`'26.20261126.0'`) or a
 * string array (`['a', 'b']`, empty: `@as []`): GLib's `g_variant_print`. A string is quoted with
 * `'`, or with `"` when it contains a `'`; inside, the quote and `\` are backslash-escaped and
 * non-printable characters are written `\n \t \r \a \b \f \v \u0001 \U0001f600`. Any other type
 * (`uint64 42`, `true`, `<'v'>`) throws: relengd only writes string metadata.
 */
export function parseGVariantString(text: string): string | string[] {
  const source = text.endsWith('\n') ? text.slice(0, -1) : text;
  const cursor = { source, at: 0 };
  let value: string | string[];
  if (source.startsWith('@as ')) {
    cursor.at = 4;
    value = readArray(cursor);
  } else if (source.startsWith('[')) value = readArray(cursor);
  else if (source.startsWith("'") || source.startsWith('"')) value = readString(cursor);
  else throw new OstreeParseError('a GVariant string or string array', text);
  if (cursor.at !== source.length) throw new OstreeParseError('the end of the GVariant value', source.slice(cursor.at));
  return value;
}

type Cursor = { source: string; at: number };

function readArray(cursor: Cursor): string[] {
  const { source } = cursor;
  if (source[cursor.at] !== '[') throw new OstreeParseError('"[" starting a string array', source);
  cursor.at++;
  const items: string[] = [];
  skipSpaces(cursor);
  if (source[cursor.at] === ']') {
    cursor.at++;
    return items;
  }
  for (;;) {
    skipSpaces(cursor);
    items.push(readString(cursor));
    skipSpaces(cursor);
    const c = source[cursor.at++];
    if (c === ']') return items;
    if (c !== ',') throw new OstreeParseError('"," or "]" in a string array', source);
  }
}

function skipSpaces(cursor: Cursor): void {
  while (cursor.source[cursor.at] === ' ') cursor.at++;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function readString(cursor: Cursor): string {
  const { source } = cursor;
  const quote = source[cursor.at];
  if (quote !== "'" && quote !== '"') throw new OstreeParseError('a quoted GVariant string', source.slice(cursor.at));
  cursor.at++;
  let out = '';
  for (;;) {
    const c = source[cursor.at++];
    if (c === undefined) throw new OstreeParseError(`a closing ${quote}`, source);
    if (c === quote) return out;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = source[cursor.at++];
    if (e === undefined) throw new OstreeParseError('an escape after "\\"', source);
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) out += simple;
    else if (e === 'u' || e === 'U') {
      const digits = source.slice(cursor.at, cursor.at + (e === 'u' ? 4 : 8));
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== (e === 'u' ? 4 : 8)) throw new OstreeParseError(`hex digits after \\${e}`, source);
      out += String.fromCodePoint(Number.parseInt(digits, 16));
      cursor.at += digits.length;
    } else throw new OstreeParseError('a GVariant escape (\\\\ \\\' \\" \\n \\t \\r \\a \\b \\f \\v \\u \\U)', `\\${e}`);
  }
}

/** Parses `ostree refs`: one ref per line (remote refs as `remote:ref`), returned sorted. */
export function parseRefs(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .sort();
}

/** Parses `ostree static-delta list`: `FROM-TO` or `TO` (from scratch) per line, or `(No static deltas)`. */
export function parseStaticDeltas(stdout: string): StaticDelta[] {
  const lines = stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  if (lines.length === 1 && lines[0] === '(No static deltas)') return [];
  return lines
    .map((line): StaticDelta => {
      const m = /^(?:([0-9a-f]{64})-)?([0-9a-f]{64})$/.exec(line);
      if (m === null) throw new OstreeParseError('a static delta name (FROM-TO or TO)', line);
      return { from: m[1] ?? null, to: m[2]! };
    })
    .sort((a, b) => compare(a.to, b.to) || compare(a.from ?? '', b.from ?? ''));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parses the single checksum `ostree commit` and `ostree rev-parse` print. */
export function parseChecksum(stdout: string): string {
  const checksum = stdout.trim();
  if (!CHECKSUM.test(checksum)) throw new OstreeParseError('a commit checksum', stdout);
  return checksum;
}
