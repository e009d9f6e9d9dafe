import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEnvelope } from '../../src/events/envelope.ts';
import { Store } from '../../src/store/store.ts';
import { testConfigYaml } from '../helpers/config.ts';
import { projectRoot, runCli } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

function configFile(dir: string, extra = ''): string {
  const file = join(dir, 'relengd.yaml');
  writeFileSync(file, testConfigYaml(dir, extra));
  return file;
}

describe('read-only verbs never create a store', () => {
  it.each([[['events']], [['export', '--since', '7d']], [['status']], [['jobs']]])('%s with a config whose store does not exist: exit 1 naming the path, and no store is created', async (verb) => {
    const dir = tempDir();
    const file = configFile(dir);
    const { code, stderr } = await runCli(['--config', file, ...verb]);
    expect(code).toBe(1);
    expect(stderr).toContain(`no store at ${join(dir, 'relengd.db')}`);
    expect(existsSync(join(dir, 'relengd.db'))).toBe(false);
  });
});

describe('relengd events', () => {
  function storeWithDoomedCompose(dir: string): void {
    const store = Store.open(join(dir, 'relengd.db'));
    const add = (topic: string, id: string, data: unknown, receivedAt: string) =>
      store.events.insert(makeEnvelope({ topic, id, data, time: '2026-11-01T00:00:00Z' }, { receivedAt }), { origin: 'emitted', transport: 'test', receivedAt });
    add('relengd.ostree.compose.failed', 'failed-1', { composeId: 'c-1', stream: 'f26-atomic-host-x86_64', ref: 'fedora/26/x86_64/updates/atomic-host', version: null, error: 'rpm-ostree exited with 1', log: '/var/lib/relengd/jobs/c-1/log' }, '2026-12-01T10:00:00.000Z');
    add('relengd.compose.finished', 'finished-1', { composeId: 'c-1', stream: 'f26-atomic-host-x86_64', group: 'f26-atomic-host', arch: 'x86_64', ref: 'fedora/26/x86_64/updates/atomic-host', commit: null, version: null, status: 'DOOMED', artifacts: [] }, '2026-12-01T10:00:01.000Z');
    store.close();
  }

  it('prints each event with when it was received, its status, reason and log path', async () => {
    const dir = tempDir();
    const file = configFile(dir);
    storeWithDoomedCompose(dir);
    const { code, stdout } = await runCli(['--config', file, 'events']);
    expect(code).toBe(0);
    const [newest, older] = stdout.trim().split('\n');
    expect(newest).toMatch(/^2026-12-01T10:00:01\.000Z {2}-> relengd\.compose\.finished {2}finished-1 .*DOOMED/);
    expect(older).toContain('rpm-ostree exited with 1');
    expect(older).toContain('log /var/lib/relengd/jobs/c-1/log');
  });

  it('--type takes the topic as the listing prints it, as well as the CloudEvents type', async () => {
    const dir = tempDir();
    const file = configFile(dir);
    storeWithDoomedCompose(dir);
    for (const type of ['relengd.compose.finished', 'org.relengd.compose.finished']) {
      const { code, stdout } = await runCli(['--config', file, 'events', '--type', type, '--json']);
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as Array<{ id: string }>).map((e) => e.id)).toEqual(['finished-1']);
    }
  });
});

describe('relengd config check', () => {
  it('honours the global --config', async () => {
    const file = configFile(tempDir());
    const { code, stdout } = await runCli(['--config', file, 'config', 'check']);
    expect(code).toBe(0);
    expect(stdout).toContain('ok (transport embedded');
  });

  it('without a file anywhere: a usage error (exit 2)', async () => {
    const { code, stderr } = await runCli(['config', 'check'], { RELENGD_CONFIG: '' });
    expect(code).toBe(2);
    expect(stderr).toContain('config check needs a file');
  });

  it.each([
    ['a Kafka TLS file that does not exist', 'bus:\n  transport: kafka\n  kafka: { brokers: [127.0.0.1:9092], tls: { ca: /nonexistent/ca.pem } }', 'bus.kafka.tls.ca'],
    ['a Kafka SASL password file that does not exist', 'bus:\n  transport: kafka\n  kafka: { brokers: [127.0.0.1:9092], sasl: { mechanism: scram-sha-512, username: relengd, passwordFile: /nonexistent/password } }', 'bus.kafka.sasl.passwordFile'],
    ['an AMQP client certificate that does not exist', 'bus:\n  transport: amqp\n  amqp: { url: "amqps://broker.example.org", tls: { ca: /nonexistent/ca.pem } }', 'bus.amqp.tls.ca'],
    ['an HTTP token file that does not exist', 'http: { host: 127.0.0.1, port: 0, auth: { tokens: [{ name: bodhi, file: /nonexistent/token }] } }', 'http.auth.tokens'],
  ])('refuses %s, as start would, naming the key (exit 2)', async (_what, yaml, key) => {
    const dir = tempDir();
    const file = join(dir, 'relengd.yaml');
    // The test config's own http line is replaced when the case brings one.
    writeFileSync(file, testConfigYaml(dir, yaml).replace(yaml.startsWith('http:') ? 'http: { host: 127.0.0.1, port: 0 }\n' : '\0', ''));
    const { code, stdout } = await runCli(['config', 'check', file, '--json']);
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as { valid: boolean; problems: Array<{ key: string; error: string }> };
    expect(report.valid).toBe(false);
    expect(report.problems[0]!.key.startsWith(key)).toBe(true);
    expect(report.problems[0]!.error).toContain('/nonexistent/');
  });
});

describe('relengd --version', () => {
  it("prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version);
  });

  it("each verb's --help lists the global --config", async () => {
    const { code, stdout } = await runCli(['status', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Global Options:[\s\S]*--config <file>/);
  });

  it("is not taken for a verb's own --version option", async () => {
    const { code, stderr } = await runCli(['--config', '/nonexistent/relengd.yaml', 'approve', '--group', 'g', '--version', '1.0']);
    expect(code).toBe(2);
    expect(stderr).toContain('/nonexistent/relengd.yaml');
  });
});

describe('a missing system tool', () => {
  it('is reported as what to install, not as a spawn error', async () => {
    const { code, stderr } = await runCli(['demo', '--dir', join(tempDir(), 'demo')], { PATH: '/nonexistent' });
    expect(code).toBe(1);
    expect(stderr).toContain('ostree is not installed (apt-get install ostree / dnf install ostree)');
    expect(stderr).not.toContain('ENOENT');
  });
});

describe('scripts/setup', () => {
  /** A PATH holding only what the script itself needs, so ostree and gnupg look missing. */
  function barePath(extra: string[] = []): string {
    const dir = tempDir('relengd-path-');
    for (const program of ['bash', 'id', 'sed', ...extra]) {
      const found = spawnSync('bash', ['-c', `command -v ${program}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(dir, program));
    }
    chmodSync(dir, 0o755);
    return dir;
  }

  it('with no package manager to use: names the missing packages for Debian and Fedora and exits 2', () => {
    const run = spawnSync('bash', [join(projectRoot, 'scripts', 'setup')], { env: { PATH: barePath() }, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('missing ostree gnupg (Debian names; Fedora: ostree gnupg2)');
  });

  it.runIf(process.getuid?.() === 0)('as an ordinary user: prints the exact install command and exits 2, installing nothing', () => {
    // A copy nobody can read: the checkout itself may sit in a directory only root may enter.
    const copy = join(barePath(), 'setup');
    copyFileSync(join(projectRoot, 'scripts', 'setup'), copy);
    chmodSync(copy, 0o755);
    const run = spawnSync('su', ['nobody', '-s', '/bin/bash', '-c', `PATH=${barePath(['apt-get'])} bash ${copy}`], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('install them with: sudo apt-get install -y ostree gnupg');
  });
});
