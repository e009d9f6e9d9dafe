/**
 * Fuzz: the configuration parser (`parseConfig` in src/config/parse.ts) on YAML-ish text built from
 * YAML's own tokens, and on random configurations (known keys with right and wrong values, unknown
 * and misspelt keys, colliding stream ids and refs) serialised as YAML or JSON, with random
 * environment overrides. It never throws anything but a ConfigError, which names a key path (or '' for
 * a problem of the document as a whole); `configProblems` agrees with it; a parsed Config parses
 * again from its own YAML to itself.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigSchema, configProblems, parseConfig, type Config } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { anyEnv, configTextAndEnv, yamlishText } from './config-arbitraries.ts';
import { fuzz, RUNS, TIMEOUT } from './harness.ts';

const TOP_LEVEL_KEYS = new Set(Object.keys(ConfigSchema.def.shape ?? {}));

const crossCheck = fc.integer({ min: 0, max: 7 }).map((n) => n === 0);

// A mapping key that is itself a collection (`? [a]: b`, `{x: 1}: y`) makes the yaml library's
// toJS() print a process warning ("Keys with collection values will be stringified") before the
// stringified key is reported as unknown: harmless, but a hundred of them would bury the output.
const emitWarning = process.emitWarning;
beforeAll(() => {
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).startsWith('Keys with collection values will be stringified')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
});
afterAll(() => {
  process.emitWarning = emitWarning;
});

/** The first key of a key path: `streams[0].ostree.ref` -> streams, `["a.b"]` -> a.b. */
function firstKey(keyPath: string): string {
  const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(keyPath);
  if (quoted) return JSON.parse(quoted[1]!) as string;
  return /^[^.[]*/.exec(keyPath)![0];
}

const KEY_PATH = /^(?:[A-Za-z_][A-Za-z0-9_-]*|\["(?:[^"\\]|\\.)*"\])(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*$/;

/**
 * Parses, and checks what came out. `crossCheck` (one case in 8: it doubles the cost) also asks
 * `configProblems` and, for a valid configuration, parses its own YAML again.
 */
function check(text: string, environment: Record<string, string | undefined>, crossCheck: boolean, outcome: (name: string) => void): void {
  let config: Config | undefined;
  try {
    config = parseConfig(text, environment, 'fuzz.yaml');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw new Error(`parseConfig threw ${String(error)} (not a ConfigError)`, { cause: error });
    const { keyPath, message } = error;
    expect(typeof keyPath).toBe('string');
    expect(message).toMatch(/\S/);
    if (keyPath === '') {
      outcome('ConfigError (document)');
      // A problem of the whole document: syntax, not a mapping, or too many aliases.
      expect(message).toMatch(/^fuzz\.yaml: /);
    } else {
      outcome('ConfigError (key path)');
      expect(keyPath).toMatch(KEY_PATH);
      expect(message.startsWith(`${keyPath}: `)).toBe(true);
      // The path starts at a known key, or names the unknown one.
      if (!TOP_LEVEL_KEYS.has(firstKey(keyPath))) expect(message).toContain('unknown key');
    }
    if (!crossCheck) return;
    const problems = configProblems(text, environment, 'fuzz.yaml');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.message).toBe(message);
    for (const problem of problems) expect(problem).toBeInstanceOf(ConfigError);
    return;
  }
  outcome('Config');
  expect(Array.isArray(config.streams)).toBe(true);
  if (!crossCheck) return;
  expect(configProblems(text, environment, 'fuzz.yaml')).toEqual([]);
  // The parsed configuration is a fixed point: its own YAML parses to itself.
  expect(parseConfig(stringify(config), {}, 'again.yaml')).toStrictEqual(config);
}

describe('fuzz: config parser', () => {
  it(`YAML-ish text: a Config or a ConfigError, never another throw (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    fuzz(ctx, fc.tuple(yamlishText, anyEnv, crossCheck), ([text, environment, cross], log) => check(text, environment, cross, (o) => log.outcome(o)));
  });

  it(`random configurations as YAML/JSON: a Config or a ConfigError naming a key path (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    fuzz(ctx, fc.tuple(configTextAndEnv, crossCheck), ([[text, environment], cross], log) => check(text, environment, cross, (o) => log.outcome(o)));
  });
});
