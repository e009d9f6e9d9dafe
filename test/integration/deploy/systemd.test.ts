/**
 * deploy/systemd: the unit systemd-analyze accepts, its sandbox leaves writable every path the
 * configuration it runs writes, and the daemon behaves as the unit expects it to (exec start, exit
 * 2 for configuration errors, clean exit on the unit's KillSignal).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.ts';
import { cliPath, projectRoot, runCli, spawnDaemon, type DaemonProcess } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { isUnder, pathsRelengdOpens, provideConfigPaths, relocateConfig, relocatePath, selfSignedPem, writeFileIn } from './config-paths.ts';
import { configArgument, deployDir, systemdUnit, unitList, unitValue } from './deploy-files.ts';
import { stopsOnSigterm } from './stop.ts';

const unitFile = join(deployDir, 'systemd', 'relengd.service');
const unit = systemdUnit(unitFile);
const service = (key: string) => unitValue(unit, 'Service', key);
const execStart = service('ExecStart')!.split(/\s+/);
const configPath = configArgument(execStart)!;
/** The unit's configuration as shipped: deploy/systemd/<name>, installed at ExecStart's --config. */
const shippedConfig = join(deployDir, 'systemd', posix.basename(configPath));

/** What the sandbox leaves writable: ReadWritePaths and the directories systemd makes for the service. */
function writablePaths(): string[] {
  return [...unitList(unit, 'Service', 'ReadWritePaths').map((p) => p.replace(/^-/, '')), ...unitList(unit, 'Service', 'StateDirectory').map((d) => `/var/lib/${d}`)];
}

function commandPresent(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('deploy/systemd/relengd.service', () => {
  it('starts relengd from its installed sources with the configuration systemd provides for it', () => {
    expect(execStart[0]).toBe('/usr/bin/node-24');
    expect(execStart[1]).toBe('/usr/lib/relengd/src/cli/main.ts');
    expect(cliPath.endsWith(posix.join(...execStart[1]!.split('/').slice(-3)))).toBe(true);
    expect(execStart.slice(2)).toEqual(['start', '--config', configPath]);
    expect(unitList(unit, 'Service', 'ConfigurationDirectory').some((d) => isUnder(configPath, `/etc/${d}`))).toBe(true);
    expect(existsSync(shippedConfig), `${shippedConfig} is the configuration the unit runs`).toBe(true);
  });

  it('is Type=exec: relengd never calls sd_notify', () => {
    expect(service('Type')).toBe('exec');
    const sources = readdirSync(join(projectRoot, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const notifying = sources.filter((f) => readFileSync(join(projectRoot, 'src', f), 'utf8').includes('NOTIFY_SOCKET'));
    expect(notifying, 'relengd speaks sd_notify now: Type=notify would tell systemd when it is ready').toEqual([]);
  });

  it('runs as the dedicated user its sysusers.d file creates, sandboxed', () => {
    expect(service('User')).toBe('relengd');
    expect(service('DynamicUser') ?? 'no').toBe('no');
    const sysusers = readFileSync(join(deployDir, 'systemd', 'relengd.sysusers.conf'), 'utf8');
    expect(sysusers).toMatch(new RegExp(`^u ${service('User')} `, 'm'));
    expect(Object.fromEntries(['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'NoNewPrivileges', 'CapabilityBoundingSet', 'KillMode'].map((k) => [k, service(k)]))).toEqual({
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '',
      KillMode: 'mixed',
    });
    expect(unitList(unit, 'Service', 'RestrictAddressFamilies').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
  });

  it('leaves writable every path its configuration writes, and hides none it reads', () => {
    const config = parseConfig(readFileSync(shippedConfig, 'utf8'), {}, shippedConfig);
    const writable = writablePaths();
    const hidden = ['/home', '/root', '/run/user', ...unitList(unit, 'Service', 'InaccessiblePaths')];
    for (const { key, path, writes } of pathsRelengdOpens(config)) {
      if (writes) expect(writable.some((w) => isUnder(path, w)), `${key} ${path} is not in ReadWritePaths (${writable.join(' ')})`).toBe(true);
      expect(hidden.some((h) => isUnder(path, h)), `${key} ${path} is hidden by the sandbox`).toBe(false);
      expect(isUnder(path, '/tmp') || isUnder(path, '/var/tmp'), `${key} ${path} is in the service's private /tmp`).toBe(false);
    }
  });

  it.skipIf(!commandPresent('systemd-analyze'))('passes systemd-analyze verify, installed with relengd in place', () => {
    // A root with the unit, the host's own units (targets it orders against) and ExecStart's program.
    const root = tempDir();
    writeFileIn(join(root, 'etc/systemd/system/relengd.service'), readFileSync(unitFile, 'utf8'));
    for (const dir of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
      if (existsSync(dir)) cpSync(dir, join(root, 'usr/lib/systemd/system'), { recursive: true, dereference: false, force: false, errorOnExist: false });
    }
    writeFileIn(join(root, execStart[0]!), '#!/bin/sh\n');
    chmodSync(join(root, execStart[0]!), 0o755);
    const result = spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'relengd.service'], { encoding: 'utf8' });
    // verify exits 0 on warnings such as an unknown key: any output is a finding.
    expect({ status: result.status, output: (result.stdout + result.stderr).trim() }).toEqual({ status: 0, output: '' });
  });

  it.skipIf(!commandPresent('systemd-sysusers'))('creates its user with systemd-sysusers', () => {
    const root = tempDir();
    writeFileIn(join(root, 'etc/passwd'), '');
    writeFileIn(join(root, 'etc/group'), '');
    const result = spawnSync('systemd-sysusers', [`--root=${root}`, '--dry-run', join(deployDir, 'systemd', 'relengd.sysusers.conf')], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toContain(`Creating user '${service('User')}'`);
  });
});

for (const [command, why] of [['systemd-analyze', 'systemd-analyze verify'], ['systemd-sysusers', 'the sysusers.d check']]) {
  if (!commandPresent(command!)) console.warn(`skipping ${why}: ${command} is not installed here`);
}

describe('relengd as relengd.service runs it', () => {
  let daemon: DaemonProcess | undefined;
  afterEach(() => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    daemon = undefined;
  });

  /** The shipped configuration under `root`, as if / were there, with what the host provides in place. */
  function installed(root: string, provide: boolean): string {
    const mounts = new Map([['/', root]]);
    const file = relocatePath(configPath, mounts)!;
    writeFileIn(file, relocateConfig(readFileSync(shippedConfig, 'utf8'), mounts));
    if (provide) provideConfigPaths(parseConfig(readFileSync(file, 'utf8'), {}, file), selfSignedPem(join(root, 'pki')));
    return file;
  }

  it(`exits 0 on the unit's KillSignal (${service('KillSignal') ?? 'SIGTERM'}) before TimeoutStopSec`, { timeout: 90_000 }, async () => {
    expect(service('KillSignal') ?? 'SIGTERM').toBe('SIGTERM');
    const file = installed(tempDir(), true);
    // The broker (rabbitmq.example.org) is not reachable from here: the embedded transport stands in.
    daemon = await spawnDaemon(file, { RELENGD_TRANSPORT: 'embedded', RELENGD_HTTP_PORT: '0' });
    const timeoutStop = Number(/^(\d+)s$/.exec(service('TimeoutStopSec') ?? '90s')![1]);
    expect(await stopsOnSigterm(daemon, timeoutStop * 1000)).toBe(0);
  });

  it('exits 2 on a configuration error, the status the unit does not restart on', { timeout: 60_000 }, async () => {
    // Nothing in place: the token file the configuration names is missing.
    const file = installed(tempDir(), false);
    const result = await runCli(['--config', file, 'start'], { RELENGD_TRANSPORT: 'embedded', RELENGD_HTTP_PORT: '0' });
    expect(result.code).toBe(2);
    expect(unitList(unit, 'Service', 'RestartPreventExitStatus')).toContain(String(result.code));
    expect(service('Restart')).toBe('on-failure');
  });
});
