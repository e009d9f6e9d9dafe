import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configProblems, loadConfigFile, parseConfig } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors.ts';
import { tempDir } from '../../helpers/tmp.ts';

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, {});
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('http.auth.tokens', () => {
  it('takes {name, file} and {name, env}', () => {
    const config = parseConfig('http:\n  auth:\n    tokens:\n      - { name: releng, file: /etc/relengd/tokens/releng }\n      - { name: ci, env: RELENGD_CI_TOKEN }\n', {});
    expect(config.http.auth.tokens).toEqual([
      { name: 'releng', file: '/etc/relengd/tokens/releng' },
      { name: 'ci', env: 'RELENGD_CI_TOKEN' },
    ]);
  });

  it('has no key for the token itself', () => {
    const error = errorOf('http:\n  auth:\n    tokens:\n      - { name: releng, token: 0123456789abcdef0123 }\n');
    expect(error.keyPath).toBe('http.auth.tokens[0].token');
    expect(error.message).toContain('unknown key "token"');
  });

  it('needs exactly one of file or env', () => {
    expect(errorOf('http: { auth: { tokens: [{ name: releng }] } }\n').message).toContain('exactly one of file or env');
    expect(errorOf('http: { auth: { tokens: [{ name: releng, file: /t, env: T }] } }\n').message).toContain('exactly one of file or env');
    expect(errorOf('http: { auth: { tokens: [{ name: releng, env: "not a name" }] } }\n').keyPath).toBe('http.auth.tokens[0].env');
  });

  it('resolves a relative token file against the config file directory', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'tokens'));
    const file = join(dir, 'relengd.yaml');
    writeFileSync(file, 'http: { auth: { tokens: [{ name: releng, file: tokens/releng }] } }\n');
    expect(loadConfigFile(file, {}).http.auth.tokens[0]?.file).toBe(join(dir, 'tokens', 'releng'));
  });
});

describe('http.host', () => {
  it('refuses a non-loopback address without tokens, at http.host', () => {
    for (const host of ['0.0.0.0', '"::"', '10.1.2.3', 'relengd.example.org']) {
      const error = errorOf(`http: { host: ${host} }\n`);
      expect(error.keyPath).toBe('http.host');
      expect(error.message).toContain('not a loopback address');
    }
    expect(configProblems('http: { host: 0.0.0.0 }\n', {}).map((p) => p.keyPath)).toEqual(['http.host']);
  });

  it('accepts loopback addresses without tokens, and any address with them', () => {
    for (const host of ['127.0.0.1', '"::1"', 'localhost']) expect(parseConfig(`http: { host: ${host} }\n`, {}).http.auth.tokens).toEqual([]);
    expect(parseConfig('http: { host: 0.0.0.0, auth: { tokens: [{ name: releng, env: T }] } }\n', {}).http.host).toBe('0.0.0.0');
  });
});

describe('http limits', () => {
  it('default to sane timeouts and a connection cap', () => {
    const { http } = parseConfig('', {});
    expect(http).toMatchObject({ maxConnections: 256, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
  });

  it('refuse a headers timeout longer than the request timeout', () => {
    expect(errorOf('http: { headersTimeoutMs: 40000, requestTimeoutMs: 30000 }\n').keyPath).toBe('http.headersTimeoutMs');
    expect(errorOf('http: { maxConnections: 0 }\n').keyPath).toBe('http.maxConnections');
  });
});
