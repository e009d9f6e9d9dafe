import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfigYaml } from '../helpers/config.ts';
import { tempDir } from '../helpers/tmp.ts';

const opensslPresent = spawnSync('openssl', ['version']).status === 0;
// CI installs openssl (.ci/run): there a missing one is a failure, not a skip.
if (!opensslPresent && process.env.CI === 'true') throw new Error('CI=true but openssl is not installed; the HTTPS tests need it to make certificates');
const RELENG_TOKEN = 'releng-tls-0123456789abcdef012345';
const APPROVE = 'org.fedoraproject.prod.relengd.release.approve';
const approval = JSON.stringify({ group: 'f26-atomic-host', version: '26.20170705.0' });

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

interface Pki {
  dir: string;
  ca: Buffer;
  /** Client certificates by name: `releng` and `ci` signed by the CA, `stranger` self-signed with CN releng. */
  client: Record<'releng' | 'ci' | 'stranger', { cert: Buffer; key: Buffer }>;
}

/** A throwaway CA, a server certificate for 127.0.0.1 and client certificates (openssl, argv only). */
function makePki(): Pki {
  const dir = tempDir();
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=relengd test CA');
  const signed = (name: string, subject: string, ext: string) => {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  };
  signed('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  signed('releng', '/CN=releng', 'extendedKeyUsage=clientAuth');
  signed('ci', '/CN=ci', 'extendedKeyUsage=clientAuth');
  openssl('req', '-x509', ...ec, '-keyout', 'stranger.key', '-out', 'stranger.crt', '-days', '2', '-subj', '/CN=releng');
  const pair = (name: string) => ({ cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) });
  return { dir, ca: readFileSync(join(dir, 'ca.crt')), client: { releng: pair('releng'), ci: pair('ci'), stranger: pair('stranger') } };
}

async function start(pki: Pki, http = ''): Promise<Daemon> {
  const dir = tempDir();
  const tls = `tls: { cert: ${join(pki.dir, 'server.crt')}, key: ${join(pki.dir, 'server.key')}, ca: ${join(pki.dir, 'ca.crt')} }`;
  const yaml = testConfigYaml(dir, 'publishers: { relengd.release.approve: [releng] }').replace('http: { host: 127.0.0.1, port: 0 }', `http: { host: 127.0.0.1, port: 0, ${tls}${http ? `, ${http}` : ''} }`);
  daemon = await startDaemon({ config: parseConfig(yaml, {}), logger: silentLogger() });
  return daemon;
}

/** POSTs an approval over HTTPS, trusting the test CA, with the given client certificate and headers. */
function postApproval(d: Daemon, pki: Pki, id: string, client?: { cert: Buffer; key: Buffer }, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${d.http!.url}/events`,
      {
        method: 'POST',
        ca: pki.ca,
        ...(client ?? {}),
        headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/test', 'ce-type': 'org.relengd.release.approve', 'ce-topic': APPROVE, ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(approval);
  });
}

describe.skipIf(!opensslPresent)(`HTTPS with client certificates (${opensslPresent ? 'openssl present' : 'openssl not installed'})`, () => {
  it('serves HTTPS; a client certificate the CA signed authenticates its CN; none is anonymous; an unverified one is 401', async () => {
    const pki = makePki();
    const d = await start(pki);
    expect(d.http!.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const asReleng = await postApproval(d, pki, 'tls-1', pki.client.releng);
    expect(asReleng).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect((await d.store.events.get('tls-1'))?.envelope.publisher).toBe('releng');

    const anonymous = await postApproval(d, pki, 'tls-2');
    expect(anonymous).toMatchObject({ status: 403, body: { reason: 'unauthorized' } });

    const stranger = await postApproval(d, pki, 'tls-3', pki.client.stranger);
    expect(stranger).toMatchObject({ status: 401, body: { reason: 'unauthenticated' } });

    const asCi = await postApproval(d, pki, 'tls-4', pki.client.ci);
    expect(asCi.status).toBe(403);

    for (const id of ['tls-2', 'tls-3', 'tls-4']) expect(await d.store.events.has(id)).toBe(false);
  }, 60_000);

  it('refuses a certificate and a token that name different publishers; accepts them when they agree', async () => {
    const pki = makePki();
    const tokenFile = join(pki.dir, 'releng.token');
    writeFileSync(tokenFile, RELENG_TOKEN);
    const d = await start(pki, `auth: { tokens: [{ name: releng, file: ${tokenFile} }] }`);
    const mixed = await postApproval(d, pki, 'mix-1', pki.client.ci, { authorization: `Bearer ${RELENG_TOKEN}` });
    expect(mixed).toMatchObject({ status: 401, body: { reason: 'unauthenticated' } });
    const agreeing = await postApproval(d, pki, 'mix-2', pki.client.releng, { authorization: `Bearer ${RELENG_TOKEN}` });
    expect(agreeing.status).toBe(202);
    expect(await d.store.events.has('mix-1')).toBe(false);
  }, 60_000);

  it('lets a client CA stand for tokens on a non-loopback address, and names the file that cannot be read', async () => {
    const pki = makePki();
    const files = `cert: ${join(pki.dir, 'server.crt')}, key: ${join(pki.dir, 'server.key')}`;
    expect(parseConfig(`http: { host: 0.0.0.0, tls: { ${files}, ca: ${join(pki.dir, 'ca.crt')} } }\n`, {}).http.tls?.ca).toBe(join(pki.dir, 'ca.crt'));
    expect(() => parseConfig(`http: { host: 0.0.0.0, tls: { ${files} } }\n`, {})).toThrow(/http\.host/);
    const missing = parseConfig(`http: { host: 127.0.0.1, port: 0, tls: { ${files}, ca: ${join(pki.dir, 'absent.crt')} } }\nstore: { path: ${join(pki.dir, 'r.db')} }\n`, {});
    const attempt = startDaemon({ config: missing, logger: silentLogger() });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toMatchObject({ keyPath: 'http.tls.ca' });
  }, 60_000);
});
