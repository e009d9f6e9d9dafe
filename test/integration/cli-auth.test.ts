import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfigYaml } from '../helpers/config.ts';
import { runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const RELENG_TOKEN = 'releng-cli-0123456789abcdef01234';

const daemons: DaemonProcess[] = [];
afterEach(() => daemons.splice(0).forEach((d) => d.child.kill('SIGKILL')));

/** A config file whose http section is `http` (flow-mapping entries), approvals and promotions allowed from releng only. */
function configFile(dir: string, http: string): string {
  const file = join(dir, 'relengd.yaml');
  const yaml = testConfigYaml(dir, 'publishers: { relengd.release.approve: [releng], relengd.release.promote.requested: [releng] }').replace('http: { host: 127.0.0.1, port: 0 }', `http: { ${http} }`);
  writeFileSync(file, yaml);
  return file;
}

function tokenFile(dir: string, name: string, token: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${token}\n`);
  return file;
}

// No token from the environment running the tests.
const noEnvToken = { RELENGD_TOKEN: '' };

describe('relengd start: who may listen', () => {
  it('exits 2 naming http.host for a non-loopback address without tokens (and config check says so)', async () => {
    const dir = tempDir();
    const file = configFile(dir, 'host: 0.0.0.0, port: 0');
    const start = await runCli(['--config', file, 'start']);
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('http.host');
    expect(start.stderr).toContain('not a loopback address');
    const check = await runCli(['config', 'check', file]);
    expect(check.code).toBe(2);
    expect(check.stdout + check.stderr).toContain('http.host');
  });

  it('exits 2 naming the key when a token file or variable is missing', async () => {
    const dir = tempDir();
    const missingFile = await runCli(['--config', configFile(dir, `host: 127.0.0.1, port: 0, auth: { tokens: [{ name: releng, file: ${join(dir, 'absent')} }] }`), 'start']);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain('http.auth.tokens[0].file');
    const missingEnv = await runCli(['--config', configFile(dir, 'host: 127.0.0.1, port: 0, auth: { tokens: [{ name: releng, env: RELENGD_TEST_UNSET_TOKEN }] }'), 'start'], { RELENGD_TEST_UNSET_TOKEN: '' });
    expect(missingEnv.code).toBe(2);
    expect(missingEnv.stderr).toContain('http.auth.tokens[0].env');
  });

  it('listens on a non-loopback address once tokens are configured', async () => {
    const dir = tempDir();
    const daemon = await spawnDaemon(configFile(dir, `host: 0.0.0.0, port: 0, auth: { tokens: [{ name: releng, file: ${tokenFile(dir, 'releng', RELENG_TOKEN)} }] }`));
    daemons.push(daemon);
    expect(daemon.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });
});

describe('relengd publish and promote with a bearer token', () => {
  it('send the token from --token-file or $RELENGD_TOKEN; without it or with a wrong one they exit 1 with the reason', async () => {
    const dir = tempDir();
    const right = tokenFile(dir, 'releng', RELENG_TOKEN);
    const wrong = tokenFile(dir, 'wrong', 'wrong-token-0123456789abcdef0123');
    const file = configFile(dir, `host: 127.0.0.1, port: 0, auth: { tokens: [{ name: releng, file: ${right} }] }`);
    const daemon = await spawnDaemon(file);
    daemons.push(daemon);
    const approve = (id: string, ...extra: string[]) => ['--config', file, 'publish', '--url', daemon.url, '-t', 'relengd.release.approve', '--id', id, '-d', '{"group":"f26-atomic-host","version":"26.20170705.0"}', ...extra];

    const promoteArgs = ['--config', file, 'promote', '--url', daemon.url, '--group', 'f26-atomic-host', '--version', '26.20170705.0'];
    const [anonymous, refused, missing, accepted, fromEnv, promoteAnonymous, promoteWrong, promoted] = await Promise.all([
      runCli(approve('p-anon'), noEnvToken),
      runCli(approve('p-wrong', '--token-file', wrong), noEnvToken),
      runCli(approve('p-missing', '--token-file', join(dir, 'absent')), noEnvToken),
      runCli(approve('p-file', '--token-file', right, '--json'), noEnvToken),
      runCli(approve('p-env'), { RELENGD_TOKEN: RELENG_TOKEN }),
      runCli(promoteArgs, noEnvToken),
      runCli([...promoteArgs, '--token-file', wrong], noEnvToken),
      runCli([...promoteArgs, '--token-file', right], noEnvToken),
    ]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stdout).toContain('rejected (unauthorized)');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('rejected (unauthenticated)');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--token-file');
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toEqual({ status: 'accepted', id: 'p-file' });
    expect(fromEnv.code).toBe(0);
    expect(promoteAnonymous.code).toBe(1);
    expect(promoteAnonymous.stdout).toContain('refused (unauthorized)');
    expect(promoteWrong.code).toBe(1);
    expect(promoteWrong.stdout).toContain('refused (unauthenticated)');
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain('requested');

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const approvals = JSON.parse((await runCli(['--config', file, 'events', '--json', '--topic', 'relengd.release.approve'])).stdout) as Array<{ id: string; publisher?: string }>;
    expect(approvals.map((e) => [e.id, e.publisher]).sort()).toEqual([
      ['p-env', 'releng'],
      ['p-file', 'releng'],
    ]);
  }, 120_000);

  it('list --token-file in both verbs\' help', async () => {
    for (const verb of ['publish', 'promote']) {
      const help = await runCli([verb, '--help']);
      expect(help.stdout).toContain('--token-file <file>');
      expect(help.stdout).toContain('RELENGD_TOKEN');
    }
  }, 60_000);
});
