import * as crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { assertListenerAllowed, BearerTokens, identify, MIN_TOKEN_LENGTH } from '../../../src/http/auth.ts';
import { isLoopbackHost } from '../../../src/trust.ts';
import { ConfigError } from '../../../src/errors.ts';
import { tempDir } from '../../helpers/tmp.ts';

// Spy on the comparison to show every lookup compares against every token (no early exit).
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

const RELENG = 'releng-token-0123456789abcdef';
const CI = 'ci-token-0123456789abcdef0000';

function tokens(): BearerTokens {
  return BearerTokens.load([{ name: 'releng', env: 'RELENG_TOKEN' }, { name: 'ci', env: 'CI_TOKEN' }], { RELENG_TOKEN: RELENG, CI_TOKEN: CI });
}

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

beforeEach(() => {
  timingSafeEqual.mockClear();
});

describe('bearer token lookup', () => {
  it('maps the right token to its publisher name, as configured (no prefix)', () => {
    expect(tokens().publisherFor(RELENG)).toBe('releng');
    expect(tokens().publisherFor(CI)).toBe('ci');
  });

  it('returns null for a wrong token, a same-length wrong token, a prefix of a token and an empty one', () => {
    const t = tokens();
    const sameLength = `${RELENG.slice(0, -1)}${RELENG.at(-1) === 'f' ? 'e' : 'f'}`;
    expect(sameLength).toHaveLength(RELENG.length);
    expect(t.publisherFor('wrong')).toBeNull();
    expect(t.publisherFor(sameLength)).toBeNull();
    expect(t.publisherFor(RELENG.slice(0, -1))).toBeNull();
    expect(t.publisherFor(`${RELENG}x`)).toBeNull();
    expect(t.publisherFor('')).toBeNull();
  });

  it('compares fixed-length digests with timingSafeEqual, against every token, without stopping at a match', () => {
    const t = tokens();
    for (const token of [RELENG, CI, 'wrong', '']) {
      timingSafeEqual.mockClear();
      t.publisherFor(token);
      expect(timingSafeEqual).toHaveBeenCalledTimes(2);
      for (const [a, b] of timingSafeEqual.mock.calls) {
        expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
      }
    }
  });
});

describe('identify (the Authorization header)', () => {
  it('is anonymous without a header', () => {
    expect(identify(undefined, tokens())).toEqual({ kind: 'anonymous' });
  });

  it('is the publisher for a known bearer token (scheme case-insensitive)', () => {
    expect(identify(`Bearer ${RELENG}`, tokens())).toEqual({ kind: 'publisher', name: 'releng' });
    expect(identify(`bearer ${CI}`, tokens())).toEqual({ kind: 'publisher', name: 'ci' });
  });

  it('refuses (never anonymous) an unknown token, another scheme, an empty bearer, and any token when none is configured', () => {
    for (const header of ['Bearer nope-nope-nope-nope', `Basic ${Buffer.from(`releng:${RELENG}`).toString('base64')}`, 'Bearer ', 'Bearer', '', RELENG]) {
      expect(identify(header, tokens()).kind).toBe('refused');
    }
    expect(identify(`Bearer ${RELENG}`, undefined).kind).toBe('refused');
    expect(identify(`Bearer ${RELENG}`, BearerTokens.load([])).kind).toBe('refused');
  });
});

describe('loading tokens', () => {
  it('reads a file and drops its trailing newline; reads an environment variable', () => {
    const dir = tempDir();
    const file = join(dir, 'releng');
    writeFileSync(file, `${RELENG}\n`);
    const t = BearerTokens.load([{ name: 'releng', file }, { name: 'ci', env: 'CI_TOKEN' }], { CI_TOKEN: CI });
    expect(t.size).toBe(2);
    expect(t.publisherFor(RELENG)).toBe('releng');
    expect(t.publisherFor(`${RELENG}\n`)).toBeNull();
    expect(t.publisherFor(CI)).toBe('ci');
  });

  it('a missing or empty file, or an unset or empty variable, is a config error naming the key, never showing a token', () => {
    const dir = tempDir();
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(configErrorOf(() => BearerTokens.load([{ name: 'releng', file: join(dir, 'missing') }], {}))).toMatchObject({ keyPath: 'http.auth.tokens[0].file' });
    expect(configErrorOf(() => BearerTokens.load([{ name: 'releng', env: 'A_TOKEN' }, { name: 'ci', file: empty }], { A_TOKEN: RELENG }))).toMatchObject({ keyPath: 'http.auth.tokens[1].file' });
    expect(configErrorOf(() => BearerTokens.load([{ name: 'releng', env: 'UNSET' }], {})).message).toContain('UNSET is not set');
    expect(configErrorOf(() => BearerTokens.load([{ name: 'releng', env: 'EMPTY' }], { EMPTY: '' }))).toMatchObject({ keyPath: 'http.auth.tokens[0].env' });
  });

  it(`refuses a token shorter than ${MIN_TOKEN_LENGTH} characters, one with spaces, and one token given to two names`, () => {
    const short = 'x'.repeat(MIN_TOKEN_LENGTH - 1);
    const tooShort = configErrorOf(() => BearerTokens.load([{ name: 'releng', env: 'T' }], { T: short }));
    expect(tooShort.keyPath).toBe('http.auth.tokens[0].env');
    expect(tooShort.message).toContain(`at least ${MIN_TOKEN_LENGTH}`);
    expect(tooShort.message).not.toContain(short);
    expect(BearerTokens.load([{ name: 'releng', env: 'T' }], { T: 'x'.repeat(MIN_TOKEN_LENGTH) }).size).toBe(1);
    expect(configErrorOf(() => BearerTokens.load([{ name: 'releng', env: 'T' }], { T: 'two words 0123456789' })).message).toContain('spaces');
    const shared = configErrorOf(() => BearerTokens.load([{ name: 'releng', env: 'A' }, { name: 'ci', env: 'B' }], { A: RELENG, B: RELENG }));
    expect(shared).toMatchObject({ keyPath: 'http.auth.tokens[1].env' });
    expect(shared.message).not.toContain(RELENG);
    // Two tokens for one name is a rotation: allowed.
    expect(BearerTokens.load([{ name: 'releng', env: 'A' }, { name: 'releng', env: 'B' }], { A: RELENG, B: CI }).publisherFor(CI)).toBe('releng');
  });
});

describe('who may listen where', () => {
  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'relengd.example.org', 'localhost.example.org', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('refuses a non-loopback listener without tokens, naming http.host', () => {
    expect(configErrorOf(() => assertListenerAllowed('0.0.0.0', undefined))).toMatchObject({ keyPath: 'http.host' });
    expect(configErrorOf(() => assertListenerAllowed('10.0.0.5', BearerTokens.load([])))).toMatchObject({ keyPath: 'http.host' });
    expect(() => assertListenerAllowed('0.0.0.0', tokens())).not.toThrow();
    expect(() => assertListenerAllowed('127.0.0.1', undefined)).not.toThrow();
  });
});
