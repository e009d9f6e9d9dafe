/**
 * Fuzz: topic patterns and prefixes (src/events/topics.ts). `topicMatches` against an independent
 * reference (the AMQP pattern turned into a regular expression) on patterns and topics over a small
 * alphabet with `*`, `#` and empty words; `splitTopic` on arbitrary topics and configured prefixes.
 * And a check that matching stays polynomial with many `#`.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KNOWN_PREFIXES, splitTopic, topicMatches, withPrefix } from '../../src/events/topics.ts';
import { anyString } from './arbitraries.ts';
import { fuzz, KnownBugs, RUNS, TIMEOUT, type FuzzMeta } from './harness.ts';

/**
 * The reference: AMQP topic semantics as a regular expression over the topic with a `.` before
 * every word (`a.b` -> `.a.b`), so that `#` (zero or more words) is `(\.[^.]*)*`, `*` (exactly one
 * word, possibly empty) is `\.[^.]*` and any other word is itself, literally.
 */
function referenceMatches(pattern: string, topic: string): boolean {
  const source = pattern
    .split('.')
    .map((word) => (word === '#' ? '(?:\\.[^.]*)*' : word === '*' ? '\\.[^.]*' : `\\.${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    .join('');
  return new RegExp(`^${source}$`).test(topic.split('.').map((w) => `.${w}`).join(''));
}

// Small alphabets, so that matches are common.
const patternWord = fc.constantFrom('a', 'a', 'b', '*', '*', '#', '#', '', 'a#', '*b', '##');
const topicWord = fc.constantFrom('a', 'a', 'a', 'b', '', '*', '#', 'a#');
const pattern = fc.array(patternWord, { minLength: 1, maxLength: 6 }).map((words) => words.join('.'));
const topic = fc.array(topicWord, { minLength: 1, maxLength: 8 }).map((words) => words.join('.'));

describe('fuzz: topic patterns', () => {
  it(`topicMatches agrees with the regex reference (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    fuzz(ctx, fc.tuple(pattern, topic), ([p, t], log) => {
      const expected = referenceMatches(p, t);
      log.outcome(expected ? 'match' : 'no match');
      expect(topicMatches(p, t)).toBe(expected);
    });
  });

  it(`topicMatches agrees with the reference on long patterns full of # (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    // The regex reference backtracks polynomially in the number of `#` too: keep topics short.
    const hashy = fc.array(fc.constantFrom('#', '#', 'a', '*', 'b'), { minLength: 1, maxLength: 25 }).map((w) => w.join('.'));
    const shortTopic = fc.array(topicWord, { minLength: 1, maxLength: 5 }).map((w) => w.join('.'));
    fuzz(ctx, fc.tuple(hashy, shortTopic), ([p, t], log) => {
      const expected = referenceMatches(p, t);
      log.outcome(expected ? 'match' : 'no match');
      expect(topicMatches(p, t)).toBe(expected);
    });
  });

  it(`splitTopic never throws and strips the longest known or configured prefix (${RUNS} cases)`, { timeout: TIMEOUT }, (ctx) => {
    const dotted = fc.array(fc.constantFrom('org', 'fedoraproject', 'prod', 'stg', 'centos', 'stage', 'a', '', 'bodhi'), { maxLength: 6 }).map((w) => w.join('.'));
    const anyTopic = fc.oneof(dotted, fc.constantFrom(...KNOWN_PREFIXES).chain((p) => dotted.map((rest) => `${p}.${rest}`)), anyString(30));
    const configured = fc.option(fc.oneof(dotted, fc.constantFrom(...KNOWN_PREFIXES), anyString(10)), { nil: undefined });
    fuzz(ctx, fc.tuple(anyTopic, configured), ([t, configuredPrefix], log) => {
      const { prefix, name } = splitTopic(t, configuredPrefix);
      log.outcome(prefix ? 'prefixed' : 'bare');
      const candidates = [...KNOWN_PREFIXES, ...(configuredPrefix ? [configuredPrefix] : [])].filter((c) => c && t.startsWith(`${c}.`));
      if (candidates.length === 0) {
        expect(prefix).toBe('');
        expect(name).toBe(t);
      } else {
        expect(prefix.length).toBe(Math.max(...candidates.map((c) => c.length)));
        expect(candidates).toContain(prefix);
        expect(`${prefix}.${name}`).toBe(t);
      }
      expect(withPrefix(name, prefix)).toBe(t);
    });
  });

  it('topicMatches of 20 "#" against a 30-word topic answers within 2 s', (ctx) => {
    // A pattern that cannot match (it ends in a word the topic lacks) makes the recursive matcher try
    // every way of splitting the topic among the `#`s: C(30 + 20, 20), about 4.7e13 calls.
    const p = `${Array(20).fill('#').join('.')}.z`;
    const t = Array(30).fill('a').join('.');
    const module = new URL('../../src/events/topics.ts', import.meta.url).href;
    const script = `import { topicMatches } from ${JSON.stringify(module)}; process.stdout.write(String(topicMatches(${JSON.stringify(p)}, ${JSON.stringify(t)})));`;
    const started = performance.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 2_000, encoding: 'utf8' });
    const ms = performance.now() - started;
    const known = new KnownBugs();
    const meta: FuzzMeta = { cases: 1, ms, seed: 0, knownBugs: known.counts, outcomes: known.outcomes };
    ctx.task.meta.fuzz = meta;
    // Known bug `topic-hash-exponential`: matchWords() recurses over every split for each `#`.
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toBe('false');
  });
});
