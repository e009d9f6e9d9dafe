import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { loadConfigFile } from '../../../src/config/index.ts';

describe('loadConfigFile', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('resolves relative TLS paths against the config file directory', () => {
    dir = mkdtempSync(join(tmpdir(), 'relengd-config-'));
    const file = join(dir, 'relengd.yaml');
    writeFileSync(file, 'bus:\n  amqp:\n    url: amqps://broker\n    tls: { ca: cacert.pem, cert: /etc/pki/cert.pem, key: keys/key.pem }\n');
    expect(loadConfigFile(file, {}).bus.amqp.tls).toEqual({ ca: join(dir, 'cacert.pem'), cert: '/etc/pki/cert.pem', key: join(dir, 'keys/key.pem') });
  });

  it('names the file in errors', () => {
    dir = mkdtempSync(join(tmpdir(), 'relengd-config-'));
    const file = join(dir, 'relengd.yaml');
    writeFileSync(file, 'log:\n  level: loud\n');
    expect(() => loadConfigFile(file, {})).toThrow(`${file}:2:3`);
  });

  it('reports a missing file as a config error', () => {
    expect(() => loadConfigFile('/nonexistent/relengd.yaml', {})).toThrow(ConfigError);
    expect(() => loadConfigFile('/nonexistent/relengd.yaml', {})).toThrow('no such file');
  });
});
