import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { testConfigYaml } from '../helpers/config.ts';
import { runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const RELENG_TOKEN = 'releng-compose-0123456789abcdef0123';
const BODHI_TOKEN = 'bodhi-compose-0123456789abcdef01234';
const noEnvToken = { RELENGD_TOKEN: '' };

const daemons: DaemonProcess[] = [];
afterEach(() => daemons.splice(0).forEach((d) => d.child.kill('SIGKILL')));

/** Two arches of f26-atomic-host; relengd compose allowed from releng only; releng and bodhi both have tokens. */
function setup() {
  const dir = tempDir();
  const tokens = { releng: join(dir, 'releng.token'), bodhi: join(dir, 'bodhi.token') };
  writeFileSync(tokens.releng, `${RELENG_TOKEN}\n`);
  writeFileSync(tokens.bodhi, `${BODHI_TOKEN}\n`);
  const file = join(dir, 'relengd.yaml');
  const http = `http: { host: 127.0.0.1, port: 0, auth: { tokens: [{ name: releng, file: ${tokens.releng} }, { name: bodhi, file: ${tokens.bodhi} }] } }`;
  writeFileSync(file, testConfigYaml(dir, 'publishers: { relengd.compose.request: [releng] }').replace('http: { host: 127.0.0.1, port: 0 }', http));
  return { dir, file, tokens };
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function composeRequests(dir: string): Array<{ stream: string; causes: Array<{ id: string }> }> {
  const store = Store.open(join(dir, 'relengd.db'));
  try {
    return store.events.query({ topic: 'relengd.ostree.compose.requested' }).map((e) => e.envelope.data as { stream: string; causes: Array<{ id: string }> });
  } finally {
    store.close();
  }
}

describe('relengd compose', () => {
  it('written locally as local:<user>, the running daemon composes every arch of the group', async () => {
    const { dir, file } = setup();
    daemons.push(await spawnDaemon(file));
    const sent = await runCli(['--config', file, 'compose', '--group', 'f26-atomic-host', '--comment', 'glibc fix', '--json'], noEnvToken);
    expect(sent.code).toBe(0);
    const reply = JSON.parse(sent.stdout) as { ok: boolean; via: string; id: string };
    expect(reply).toMatchObject({ ok: true, via: `local:${userInfo().username}` });
    const requests = await until('the compose requests', () => {
      const found = composeRequests(dir);
      return found.length === 2 ? found : undefined;
    });
    expect(requests.map((r) => r.stream).sort()).toEqual(['f26-atomic-host-aarch64', 'f26-atomic-host-x86_64']);
    expect(requests.every((r) => r.causes.some((c) => c.id === reply.id))).toBe(true);
  }, 120_000);

  it('over HTTP: refused without a token, with a wrong one and for a publisher not allowed; nothing is composed for them', async () => {
    const { dir, file, tokens } = setup();
    const daemon = await spawnDaemon(file);
    daemons.push(daemon);
    const args = ['--config', file, 'compose', '--url', daemon.url, '--stream', 'f26-atomic-host-x86_64'];
    const wrong = join(dir, 'wrong.token');
    writeFileSync(wrong, 'wrong-token-0123456789abcdef0123\n');
    const [anonymous, unauthenticated, notAllowed] = await Promise.all([
      runCli(args, noEnvToken),
      runCli([...args, '--token-file', wrong], noEnvToken),
      runCli([...args, '--token-file', tokens.bodhi], noEnvToken),
    ]);
    expect([anonymous.code, unauthenticated.code, notAllowed.code]).toEqual([1, 1, 1]);
    expect(anonymous.stdout).toContain('refused (unauthorized)');
    expect(unauthenticated.stdout).toContain('refused (unauthenticated)');
    expect(notAllowed.stdout).toContain('refused (unauthorized)');

    const allowed = await runCli([...args, '--token-file', tokens.releng], noEnvToken);
    expect(allowed.code).toBe(0);
    const requests = await until('the compose request', () => {
      const found = composeRequests(dir);
      return found.length > 0 ? found : undefined;
    });
    expect(requests.map((r) => r.stream)).toEqual(['f26-atomic-host-x86_64']);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const commands = JSON.parse((await runCli(['--config', file, 'events', '--json', '--topic', 'relengd.compose.request'])).stdout) as Array<{ publisher?: string }>;
    expect(commands.map((c) => c.publisher)).toEqual(['releng']);
  }, 120_000);

  it('a stream or group not in the configuration, or neither given: exit 2, nothing sent', async () => {
    const { file } = setup();
    const [stream, group, neither] = await Promise.all([
      runCli(['--config', file, 'compose', '--stream', 'f99-nothing'], noEnvToken),
      runCli(['--config', file, 'compose', '--group', 'f99-nothing'], noEnvToken),
      runCli(['--config', file, 'compose'], noEnvToken),
    ]);
    expect([stream.code, group.code, neither.code]).toEqual([2, 2, 2]);
    expect(stream.stderr).toContain('no stream f99-nothing in the configuration (streams: f26-atomic-host-x86_64, f26-atomic-host-aarch64)');
    expect(group.stderr).toContain('no group f99-nothing');
    expect(neither.stderr).toContain('give one of --stream and --group');
  });
});
