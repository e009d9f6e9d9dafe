/**
 * execRun, the default Run: real processes, argv arrays, exit codes as data.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandFailedError } from '../../../src/errors.ts';
import { execRun, openRepo } from '../../../src/ostree/index.ts';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'relengd-run-'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(tmp, { recursive: true, force: true });
});

describe('execRun', () => {
  it('resolves with stdout and exit code 0 for a successful command', async () => {
    const result = await execRun(['ostree', '--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Version: '2022.7'");
  });

  it('resolves a non-zero exit instead of throwing', async () => {
    const result = await execRun(['ostree', 'rev-parse', `--repo=${tmp}/nope`, 'x']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: /);
  });

  it('passes each argument verbatim: no shell expands or splits it', async () => {
    const args = ['$(echo hi)', '; rm -rf /', '*', 'a b', "'q'"];
    const result = await execRun([process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...args]);
    expect(JSON.parse(result.stdout)).toEqual(args);
  });

  it('reports a process killed by a signal with the signal and 128 + its number', async () => {
    const result = await execRun([process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")']);
    expect(result).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
  });

  it('rejects with CommandFailedError (no exit code) when the program cannot be started', async () => {
    const error = await execRun(['relengd-no-such-program', '--version']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ exitCode: null, argv: ['relengd-no-such-program', '--version'] });
  });

  it("runs ostree in a UTF-8 locale whatever the caller's, so non-ASCII output is not turned into '?'", async () => {
    vi.stubEnv('LC_ALL', 'C');
    vi.stubEnv('LANG', 'C');
    const repo = openRepo(join(tmp, 'repo'));
    await repo.init();
    const dir = join(tmp, 'tree');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'x');
    const checksum = await repo.commit({ tree: { dir }, orphan: true, subject: 'Grüße ✓', metadata: { version: 'héllo 😀' } });
    expect(await repo.metadata(checksum, 'version')).toBe('héllo 😀');
    expect((await repo.show(checksum)).subject).toBe('Grüße ✓');
  });
});
