import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { ConfigError } from '../../src/errors.ts';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { startHttpServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfigYaml } from '../helpers/config.ts';
import { tempDir } from '../helpers/tmp.ts';

const RELENG_TOKEN = 'releng-0123456789abcdef0123456789';
const CI_TOKEN = 'ci-0123456789abcdef0123456789abcd';
const APPROVE = 'org.fedoraproject.prod.relengd.release.approve';
const approval = { group: 'f26-atomic-host', version: '26.20170705.0' };

let daemon: Daemon | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await daemon?.stop();
  daemon = undefined;
});

/**
 * A daemon whose HTTP section is `http` (YAML flow-mapping entries after host and port) with
 * tokens for `releng` (a file) and `ci` (an environment variable), and approvals allowed only
 * from releng.
 */
async function start(http = ''): Promise<Daemon> {
  const dir = tempDir();
  const tokenFile = join(dir, 'releng.token');
  writeFileSync(tokenFile, `${RELENG_TOKEN}\n`);
  process.env.RELENGD_TEST_CI_TOKEN = CI_TOKEN;
  const yaml = testConfigYaml(dir, 'publishers: { relengd.release.approve: [releng] }').replace(
    'http: { host: 127.0.0.1, port: 0 }',
    `http: { host: 127.0.0.1, port: 0, auth: { tokens: [{ name: releng, file: ${tokenFile} }, { name: ci, env: RELENGD_TEST_CI_TOKEN }] }${http ? `, ${http}` : ''} }`,
  );
  daemon = await startDaemon({ config: parseConfig(yaml, {}), logger: silentLogger() });
  return daemon;
}

function post(d: Daemon, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(`${d.http!.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function binaryHeaders(id: string): Record<string, string> {
  return { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/test', 'ce-type': 'org.relengd.release.approve', 'ce-topic': APPROVE };
}

/** A raw TCP connection to the daemon, for what fetch will not do (stall, stream without end). */
async function rawConnection(d: Daemon): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(d.http!.url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {}); // a reset is what some of these tests expect; 'close' follows
  // Not events.once: it would reject on the socket's 'error', and a reset is an expected ending here.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, received: () => received, closed };
}

describe('HTTP identity: bearer tokens', () => {
  it('refuses an allowlisted topic without a token (403) and with an unknown token (401); stores nothing for either', async () => {
    const d = await start();
    const anonymous = await publishOverHttp(d.http!.url, { topic: APPROVE, id: 'anon-1', body: approval });
    expect(anonymous).toMatchObject({ status: 403, body: { reason: 'unauthorized' } });

    const wrong = await publishOverHttp(d.http!.url, { topic: APPROVE, id: 'wrong-1', body: approval }, { token: 'not-a-token-of-ours-0123456789' });
    expect(wrong).toMatchObject({ status: 401, body: { status: 'rejected', reason: 'unauthenticated' } });
    const sameLength = `${RELENG_TOKEN.slice(0, -1)}x`;
    const nearMiss = await publishOverHttp(d.http!.url, { topic: APPROVE, id: 'wrong-2', body: approval }, { token: sameLength });
    expect(nearMiss.status).toBe(401);
    const basic = await post(d, { ...binaryHeaders('wrong-3'), authorization: `Basic ${Buffer.from(`releng:${RELENG_TOKEN}`).toString('base64')}` }, approval);
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toMatch(/^Bearer/);

    for (const id of ['anon-1', 'wrong-1', 'wrong-2', 'wrong-3']) expect(await d.store.events.has(id)).toBe(false);
    // The anonymous sender's message is kept as a rejection; an unauthenticated one gets no room at all.
    expect((await d.store.rejected.list()).map((r) => r.messageId)).toEqual(['anon-1']);
  });

  it('accepts the right token, and the stored publisher is the configured name', async () => {
    const d = await start();
    const reply = await publishOverHttp(d.http!.url, { topic: APPROVE, id: 'ok-1', body: approval }, { token: RELENG_TOKEN });
    expect(reply).toMatchObject({ status: 202, body: { status: 'accepted', id: 'ok-1' } });
    expect((await d.store.events.get('ok-1'))?.envelope.publisher).toBe('releng');
  });

  it('an authenticated publisher not in the allowlist is refused with 403, and its token is not kept with the rejection', async () => {
    const d = await start();
    const reply = await publishOverHttp(d.http!.url, { topic: APPROVE, id: 'ci-1', body: approval }, { token: CI_TOKEN });
    expect(reply).toMatchObject({ status: 403, body: { reason: 'unauthorized' } });
    expect(String(reply.body.error)).toContain('ci');
    const [rejection] = await d.store.rejected.list();
    expect(rejection).toMatchObject({ messageId: 'ci-1', publisher: 'ci' });
    expect(JSON.stringify(rejection!.headers)).not.toContain(CI_TOKEN);
    expect(Object.keys(rejection!.headers)).not.toContain('authorization');
  });

  it('ignores every client-supplied publisher: CloudEvents extensions, headers, structured-mode attributes', async () => {
    const d = await start();
    const spoofs = {
      'ce-publisher': 'releng',
      'ce-userid': 'releng',
      'ce-user_id': 'releng',
      'x-publisher': 'releng',
      'user-id': 'releng',
    };
    const binary = await post(d, { ...binaryHeaders('spoof-1'), ...spoofs }, approval);
    const structured = await fetch(`${d.http!.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'spoof-2', source: '/test', type: 'org.relengd.release.approve', topic: APPROVE, publisher: 'releng', userid: 'releng', datacontenttype: 'application/json', data: approval }),
    });
    // Authenticated as ci, claiming to be releng.
    const asCi = await post(d, { ...binaryHeaders('spoof-3'), ...spoofs, authorization: `Bearer ${CI_TOKEN}` }, approval);
    expect([binary.status, structured.status, asCi.status]).toEqual([403, 403, 403]);
    for (const id of ['spoof-1', 'spoof-2', 'spoof-3']) expect(await d.store.events.has(id)).toBe(false);
    expect((await d.store.rejected.list()).map((r) => r.publisher).sort()).toEqual(['ci', null, null]);
  });

  it('answers 401 to an unknown token on any route, and to any token when none is configured', async () => {
    const d = await start();
    const health = await fetch(`${d.http!.url}/healthz`, { headers: { authorization: 'Bearer nope-nope-nope-nope-nope' } });
    expect(health.status).toBe(401);
    await d.stop();
    daemon = await startDaemon({ config: parseConfig(testConfigYaml(tempDir()), {}), logger: silentLogger() });
    const noTokens = await publishOverHttp(daemon.http!.url, { topic: APPROVE, id: 'nt-1', body: approval }, { token: RELENG_TOKEN });
    expect(noTokens.status).toBe(401);
    expect(await daemon.store.events.has('nt-1')).toBe(false);
  });

  it('refuses to listen on a non-loopback address without tokens (ConfigError at http.host)', async () => {
    const attempt = startHttpServer({
      host: '0.0.0.0',
      port: 0,
      maxBodyBytes: 1024,
      logger: silentLogger(),
      deliver: () => Promise.reject(new Error('unreachable')),
      health: () => ({}),
      ready: () => ({ ready: true, detail: {} }),
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toMatchObject({ keyPath: 'http.host' });
  });
});

describe('HTTP limits', () => {
  it('cuts off a chunked body once it passes maxBodyBytes: 413, connection closed, the rest never read', async () => {
    const d = await start('maxBodyBytes: 65536');
    const { socket, received, closed } = await rawConnection(d);
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    socket.write(
      `POST /events HTTP/1.1\r\nHost: relengd\r\nAuthorization: Bearer ${RELENG_TOKEN}\r\nContent-Type: application/json\r\n` +
        `ce-specversion: 1.0\r\nce-id: big-1\r\nce-source: /test\r\nce-type: bodhi.compose.complete\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const payload = Buffer.alloc(64 * 1024, 'a');
    const chunk = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n')]);
    const total = 50 * 1024 * 1024;
    let sent = 0;
    // Write as fast as the server takes it; stop when the connection goes away.
    while (sent < total && !isClosed && !socket.destroyed) {
      const more = socket.write(chunk);
      sent += payload.length;
      if (!more) await Promise.race([once(socket, 'drain').catch(() => undefined), closed]);
    }
    await closed;
    expect(sent).toBeLessThan(total);
    expect(received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(received().toLowerCase()).toContain('connection: close');
    expect(await d.store.events.has('big-1')).toBe(false);
  }, 60_000);

  it('refuses a declared content-length over the limit before any body is sent', async () => {
    const d = await start('maxBodyBytes: 65536');
    const { socket, received, closed } = await rawConnection(d);
    socket.write(`POST /events HTTP/1.1\r\nHost: relengd\r\nContent-Type: application/json\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`);
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 413 /);
  }, 60_000);

  it('disconnects a client that never finishes its headers', async () => {
    const d = await start('headersTimeoutMs: 200');
    const { socket, received, closed } = await rawConnection(d);
    socket.write('POST /events HTTP/1.1\r\nHost: relengd\r\n'); // and never the blank line
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 408 /);
  }, 60_000);

  it('answers 431 to request headers over 16 KiB', async () => {
    const d = await start();
    const { socket, received, closed } = await rawConnection(d);
    socket.write(`GET /healthz HTTP/1.1\r\nHost: relengd\r\nX-Padding: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
    await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 431 /);
  }, 60_000);

  it('serves at most maxConnections connections at once', async () => {
    const d = await start('maxConnections: 2, keepAliveTimeoutMs: 600000, requestTimeoutMs: 600000');
    const serverSideClosed: Array<Promise<unknown>> = [];
    d.http!.server.on('connection', (s: Socket) => serverSideClosed.push(once(s, 'close')));
    const request = 'GET /healthz HTTP/1.1\r\nHost: relengd\r\n\r\n';
    const served = async () => {
      const c = await rawConnection(d);
      c.socket.write(request);
      await Promise.race([once(c.socket, 'data').catch(() => undefined), c.closed]);
      return c;
    };
    const first = await served();
    const second = await served();
    expect([first.received(), second.received()].every((r) => r.startsWith('HTTP/1.1 200'))).toBe(true);

    const third = await rawConnection(d);
    third.socket.write(request);
    await third.closed;
    expect(third.received()).toBe('');

    // Once one closes (the server has seen it go), a new connection is served again.
    first.socket.destroy();
    await serverSideClosed[0];
    const fourth = await served();
    expect(fourth.received()).toMatch(/^HTTP\/1\.1 200 /);
  }, 60_000);
});
