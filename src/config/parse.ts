/**
 * Configuration text -> validated {@link Config}. Pure: no file I/O, the environment is a parameter.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { expandArches, originalPath } from './arches.ts';
import { ConfigSchema } from './schema.ts';
import type { Config } from './schema.ts';

export { expandTemplate } from './template.ts';

/** Environment variables that override a config key, applied before validation. */
export const ENV_OVERRIDES = [
  { env: 'AMQP_URL', path: ['bus', 'amqp', 'url'], number: false },
  { env: 'RELENGD_STORE', path: ['store', 'path'], number: false },
  { env: 'RELENGD_STORE_URL', path: ['store', 'url'], number: false },
  { env: 'RELENGD_HTTP_PORT', path: ['http', 'port'], number: true },
  { env: 'RELENGD_TRANSPORT', path: ['bus', 'transport'], number: false },
  { env: 'RELENGD_LOG_LEVEL', path: ['log', 'level'], number: false },
] as const;

/**
 * Parses and validates a configuration.
 *
 * - YAML 1.2 (so `on:` is a key, `yes` a string); duplicate keys are errors; `<<` merge keys work.
 * - An empty document is valid: every default.
 * - Environment overrides ({@link ENV_OVERRIDES}) replace their key before validation; an empty
 *   variable counts as unset.
 *
 * @param source names the text in messages (the file name).
 * @throws ConfigError for the first problem: keyPath '' for YAML syntax errors (the message gives
 *   line and column), else the key path (`streams[0].promote.ref`); the message says what was
 *   expected and where (`config.yaml:34:12`, or the environment variable that set it).
 */
export function parseConfig(text: string, env: Record<string, string | undefined>, source = '<config>'): Config {
  const result = check(text, env, source);
  if (!result.ok) throw result.problems[0]!;
  return result.config;
}

/** Every problem of a configuration (empty when it is valid), for `config check`. */
export function configProblems(text: string, env: Record<string, string | undefined>, source = '<config>'): ConfigError[] {
  const result = check(text, env, source);
  return result.ok ? [] : result.problems;
}

/** A short description of a configuration, for `config check` and the start-up log line. */
export interface ConfigSummary {
  transport: Config['bus']['transport'];
  topicPrefix: string;
  store: string;
  http: { host: string; port: number };
  streams: string[];
  groups: string[];
}

export function configSummary(config: Config): ConfigSummary {
  return {
    transport: config.bus.transport,
    topicPrefix: config.topicPrefix,
    store: config.store.url ?? config.store.path,
    http: { host: config.http.host, port: config.http.port },
    streams: config.streams.map((s) => s.id),
    groups: [...new Set(config.streams.map((s) => s.group))],
  };
}

/** `streams[0].promote.ref` from a zod issue path; keys that are not identifiers are quoted (`publishers["a.b"]`). */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out ? `.${key}` : key;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

type CheckResult = { ok: true; config: Config } | { ok: false; problems: ConfigError[] };

function check(text: string, env: Record<string, string | undefined>, source: string): CheckResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const pos = error.linePos?.[0];
        const what = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
        return new ConfigError('', `${source}: YAML syntax error${at}: ${what}`, { cause: error });
      }),
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [new ConfigError('', `${source}: ${(error as Error).message}`, { cause: error })] };
  }
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, problems: [new ConfigError('', `${source}: the configuration must be a mapping of keys, found ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`)] };
  }

  const overridden = applyEnv(data as Record<string, unknown>, env);

  const arches = expandArches(data);
  if (arches.problems.length > 0) {
    return { ok: false, problems: arches.problems.map(({ path, message }) => locatedProblem(doc, lineCounter, source, path, message, undefined)) };
  }
  const parsed = ConfigSchema.safeParse(arches.data, { error: describeIssue });
  if (parsed.success) return { ok: true, config: parsed.data };

  // Unknown keys first: a misspelt key also makes the key it was meant to be "missing", and the
  // misspelling is the cause worth reporting (with the missing sibling as the suggestion).
  const issues = [...parsed.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const problems: ConfigError[] = [];
  for (const issue of issues) {
    const located =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => {
            const meant = closest(key, missingKeys(parsed.error.issues, issue.path, data));
            return { path: [...issue.path, key], message: `unknown key "${key}"${meant ? ` (did you mean "${meant}"?)` : ''}` };
          })
        : [{ path: issue.path, message: issue.message }];
    for (const { path, message } of located) {
      const original = originalPath(path, arches.origins);
      const keyPath = formatKeyPath(original.path);
      const envName = overridden.find((o) => keyPath === formatKeyPath(o.path) || keyPath.startsWith(`${formatKeyPath(o.path)}.`))?.env;
      problems.push(locatedProblem(doc, lineCounter, source, original.path, original.arch ? `${message} (for arch ${original.arch})` : message, envName, parsed.error));
    }
  }
  return { ok: false, problems };
}

/** A problem at `path`, saying where: the environment variable that set the key, else the file's line and column. */
function locatedProblem(doc: Document, lineCounter: LineCounter, source: string, path: readonly PropertyKey[], message: string, envName: string | undefined, cause?: unknown): ConfigError {
  const pos = envName ? undefined : locate(doc, lineCounter, path);
  const where = envName ? ` (from environment variable ${envName})` : pos ? ` (${source}:${pos.line}:${pos.col})` : '';
  return new ConfigError(formatKeyPath(path), `${message}${where}`, { cause });
}

/** Writes the set environment overrides into `data`; returns which were applied. */
function applyEnv(data: Record<string, unknown>, env: Record<string, string | undefined>): { env: string; path: readonly string[] }[] {
  const applied: { env: string; path: readonly string[] }[] = [];
  for (const override of ENV_OVERRIDES) {
    const raw = env[override.env];
    if (raw === undefined || raw === '') continue;
    const value: unknown = override.number && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    let node: Record<string, unknown> = data;
    let ok = true;
    for (const key of override.path.slice(0, -1)) {
      const child = node[key];
      if (child === undefined || child === null) node[key] = {};
      else if (typeof child !== 'object' || Array.isArray(child)) {
        ok = false; // the file's own value is malformed: let validation report it at its line
        break;
      }
      node = node[key] as Record<string, unknown>;
    }
    if (!ok) continue;
    node[override.path.at(-1)!] = value;
    applied.push({ env: override.env, path: override.path });
  }
  return applied;
}

/** Messages for zod's built-in checks, phrased for a config file. Schema-level messages win over these. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = ({ int: 'integer', array: 'list', object: 'mapping', record: 'mapping' } as Record<string, string>)[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `required (expected ${expected})`;
      return `expected ${expected}, received ${kindOf(issue.input)}`;
    }
    case 'invalid_value':
      if (issue.values.length === 1) return `expected ${JSON.stringify(issue.values[0])}, received ${JSON.stringify(issue.input)}`;
      return `expected one of ${issue.values.map((v) => String(v)).join(' | ')}, received ${JSON.stringify(issue.input)}`;
    case 'too_small':
      if ((issue.origin === 'array' || issue.origin === 'string') && Number(issue.minimum) === 1) return 'must not be empty';
      if (issue.origin === 'number' || issue.origin === 'int') return `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}, received ${String(issue.input)}`;
      return undefined;
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int') return `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}, received ${String(issue.input)}`;
      return undefined;
    default:
      return undefined;
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'mapping';
  if (typeof value === 'number' && !Number.isInteger(value)) return `number ${value}`;
  return typeof value === 'string' ? `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}` : `${typeof value} ${String(value)}`;
}

/** Keys directly under `parent` that are required but absent from `data`. */
function missingKeys(issues: readonly z.core.$ZodIssue[], parent: readonly PropertyKey[], data: unknown): string[] {
  const container = valueAt(data, parent);
  if (container === null || typeof container !== 'object') return [];
  return issues
    .filter((i) => i.code === 'invalid_type' && i.path.length === parent.length + 1 && parent.every((p, k) => p === i.path[k]))
    .map((i) => String(i.path.at(-1)))
    .filter((key) => !Object.hasOwn(container, key));
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let node = data;
  for (const step of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, step)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[step];
  }
  return node;
}

/** The candidate within edit distance 2 of `word` (the nearest), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of candidates) {
    const distance = editDistance(word.toLowerCase(), key.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Line and column of the deepest YAML node on `path` (the key of a mapping entry, the item of a list). */
function locate(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(step));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? rangeStart(pair.value) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      const item: unknown = node.items[step];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}
