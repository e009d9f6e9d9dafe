import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CommandFailedError } from '../../../src/errors.ts';
import {
  CommandCancelledError,
  CommandNotStartedError,
  CommandTimedOutError,
  isProcessAlive,
  runCommand,
  waitForExit,
} from '../../../src/jobs/process.ts';
import { tempDir } from '../../helpers/tmp.ts';

const node = process.execPath;

/** A `node -e` child: the script runs as the command. */
function script(source: string, ...args: string[]): string[] {
  return [node, '-e', source, ...args];
}

/** A child that ignores SIGTERM and would otherwise run for a minute; it says `ready` once its handler is installed. */
const STUBBORN = `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setTimeout(() => {}, 60_000)`;

/** Waits until the command wrote this line into its log (its output is the log). */
async function logged(logPath: string, line: string): Promise<void> {
  await vi.waitFor(() => expect(readFileSync(logPath, 'utf8').split('\n')).toContain(line), { timeout: 20_000, interval: 10 });
}

/** A child that runs until the file `go` exists (then exits 0): it lives exactly as long as the test wants. */
function untilFileExists(go: string): string[] {
  return script(`const fs = require('fs'); setInterval(() => fs.existsSync(${JSON.stringify(go)}) && process.exit(0), 10)`);
}

describe('runCommand', () => {
  it('appends stdout and stderr to the log between a header naming the argv and a footer with the exit status', async () => {
    const logPath = join(tempDir(), 'deep', 'er', 'job.log');
    const result = await runCommand({ argv: script(`console.log('to stdout'); console.error('to stderr')`), logPath });
    expect(result).toMatchObject({ exitCode: 0, signal: null, timedOut: false, cancelled: false });
    const log = readFileSync(logPath, 'utf8');
    expect(log).toContain('to stdout\n');
    expect(log).toContain('to stderr\n');
    const lines = log.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^# relengd: \d{4}-\d\d-\d\dT.*Z started \[".*node.*","-e",/);
    expect(lines.at(-1)).toMatch(/^# relengd: exited 0 after \d+ ms$/);
  });

  it('appends a second command to the same log rather than replacing the first', async () => {
    const logPath = join(tempDir(), 'job.log');
    await runCommand({ argv: script(`console.log('first')`), logPath });
    await runCommand({ argv: script(`console.log('second')`), logPath });
    const log = readFileSync(logPath, 'utf8');
    expect(log.indexOf('first')).toBeLessThan(log.indexOf('second'));
    expect(log.match(/started \[/g)).toHaveLength(2);
  });

  it('runs in cwd with env merged over the parent environment, and can unset a variable', async () => {
    const dir = tempDir();
    const logPath = join(dir, 'job.log');
    process.env.RELENGD_TEST_INHERITED = 'inherited';
    process.env.RELENGD_TEST_REMOVED = 'still here';
    try {
      await runCommand({
        argv: script(`console.log(JSON.stringify([process.cwd(), process.env.RELENGD_TEST_SET, process.env.RELENGD_TEST_INHERITED, process.env.RELENGD_TEST_REMOVED ?? 'unset']))`),
        cwd: dir,
        env: { RELENGD_TEST_SET: 'set', RELENGD_TEST_REMOVED: undefined },
        logPath,
      });
    } finally {
      delete process.env.RELENGD_TEST_INHERITED;
      delete process.env.RELENGD_TEST_REMOVED;
    }
    expect(readFileSync(logPath, 'utf8')).toContain(JSON.stringify([dir, 'set', 'inherited', 'unset']));
  });

  it('rejects a non-zero exit with a CommandFailedError carrying the argv, the exit code and the tail of the output', async () => {
    const logPath = join(tempDir(), 'job.log');
    const argv = script(`console.log('progress'); console.error('error: treefile not found'); process.exit(3)`);
    const error = await runCommand({ argv, logPath }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    const failed = error as CommandFailedError;
    expect(failed.argv).toEqual(argv);
    expect(failed.exitCode).toBe(3);
    expect(failed.signal).toBeNull();
    expect(failed.stderr).toContain('error: treefile not found');
    expect(failed.logPath).toBe(logPath);
    expect(failed.retriable).toBe(false);
    expect(failed.message).toContain('exited with 3: ');
    expect(readFileSync(logPath, 'utf8').trimEnd().split('\n').at(-1)).toMatch(/exited 3 after/);
  });

  it('keeps only the last lines of a long output in the error', async () => {
    const logPath = join(tempDir(), 'job.log');
    const error = (await runCommand({ argv: script(`for (let i = 0; i < 500; i++) console.error('line ' + i); process.exit(1)`), logPath }).catch((e: unknown) => e)) as CommandFailedError;
    const lines = error.stderr.split('\n');
    expect(lines).toHaveLength(20);
    expect(lines.at(-1)).toBe('line 499');
    expect(error.stderr).not.toContain('# relengd:');
  });

  it('rejects a missing command saying it was not found, and notes that in the log', async () => {
    const logPath = join(tempDir(), 'job.log');
    const error = await runCommand({ argv: ['relengd-no-such-command', '--flag'], logPath }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandNotStartedError);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error).toMatchObject({ code: 'ENOENT', exitCode: null, retriable: false, argv: ['relengd-no-such-command', '--flag'] });
    expect((error as Error).message).toBe('relengd-no-such-command is not installed (not found on PATH)');
    expect(readFileSync(logPath, 'utf8')).toContain('not started: relengd-no-such-command is not installed');
  });

  it('says the working directory is missing rather than blaming the command', async () => {
    const dir = tempDir();
    const error = await runCommand({ argv: [node, '--version'], cwd: join(dir, 'nope'), logPath: join(dir, 'job.log') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandNotStartedError);
    expect((error as Error).message).toContain(`working directory ${join(dir, 'nope')} does not exist`);
  });

  it('sends SIGTERM at the timeout and reports the result as timed out', async () => {
    const logPath = join(tempDir(), 'job.log');
    const error = await runCommand({ argv: script(`setTimeout(() => {}, 60_000)`), logPath, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimedOutError);
    expect(error).toBeInstanceOf(CommandFailedError);
    const timedOut = error as CommandTimedOutError;
    expect(timedOut.result).toMatchObject({ timedOut: true, cancelled: false, signal: 'SIGTERM', exitCode: null });
    expect(timedOut.result.durationMs).toBeGreaterThanOrEqual(300);
    expect(timedOut.message).toBe(`${node} timed out after 300 ms (killed by SIGTERM)`);
    expect(readFileSync(logPath, 'utf8')).toMatch(/timed out after 300 ms, killed by SIGTERM after \d+ ms/);
  });

  it('sends SIGKILL killGraceMs after SIGTERM to a command that ignores SIGTERM', async () => {
    const logPath = join(tempDir(), 'job.log');
    const controller = new AbortController();
    const killGraceMs = 1000;
    // Cancelling takes the same path as a timeout (SIGTERM, SIGKILL killGraceMs later), and can wait
    // until the child has installed its SIGTERM handler, which a timeout cannot.
    const run = runCommand({ argv: script(STUBBORN), logPath, signal: controller.signal, killGraceMs }).catch((e: unknown) => e);
    await logged(logPath, 'ready');
    const abortedAt = performance.now();
    controller.abort();
    const error = (await run) as CommandCancelledError;
    const endedAfter = performance.now() - abortedAt;
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error.result.signal).toBe('SIGKILL');
    // It got the SIGTERM and survived it; SIGKILL came only after the grace (timers count whole ms).
    expect(readFileSync(logPath, 'utf8')).toContain('ignoring SIGTERM');
    expect(endedAfter).toBeGreaterThanOrEqual(killGraceMs - 1);
  });

  it('cancels a running command when its signal aborts, and holds its pid in the pid file while it runs', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'run', 'command.pid');
    const controller = new AbortController();
    let seen: { pid: number; file: string; alive: boolean } | undefined;
    const error = await runCommand({
      argv: script(`setTimeout(() => {}, 60_000)`),
      logPath: join(dir, 'job.log'),
      pidFile,
      signal: controller.signal,
      onSpawn: (pid) => {
        seen = { pid, file: readFileSync(pidFile, 'utf8'), alive: isProcessAlive(pid) };
        controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(seen).toEqual({ pid: expect.any(Number), file: `${seen!.pid}\n`, alive: true });
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect((error as CommandCancelledError).result).toMatchObject({ cancelled: true, timedOut: false, signal: 'SIGTERM' });
    expect(isProcessAlive(seen!.pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('does not start a command whose signal has already aborted', async () => {
    const dir = tempDir();
    const logPath = join(dir, 'job.log');
    const error = await runCommand({ argv: script(`require('fs').writeFileSync('ran', '')`), cwd: dir, logPath, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    expect((error as CommandCancelledError).result.durationMs).toBe(0);
    expect(readFileSync(logPath, 'utf8')).toContain('not started: cancelled');
  });

  it('ends the whole process group, not just the command, when it is cancelled (as at a timeout)', async () => {
    const dir = tempDir();
    const grandchildPidFile = join(dir, 'grandchild.pid');
    // The command starts a grandchild that would outlive it, and records the grandchild's pid.
    const source = `const { spawn } = require('child_process');
      const g = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      require('fs').writeFileSync(${JSON.stringify(grandchildPidFile)}, String(g.pid));
      setTimeout(() => {}, 60000);`;
    const controller = new AbortController();
    const run = runCommand({ argv: script(source), logPath: join(dir, 'job.log'), signal: controller.signal }).catch(() => undefined);
    // Ended only once the grandchild exists (a timeout could fire before it is started).
    await vi.waitFor(() => expect(existsSync(grandchildPidFile)).toBe(true), { timeout: 20_000, interval: 10 });
    const grandchild = Number(readFileSync(grandchildPidFile, 'utf8'));
    expect(isProcessAlive(grandchild)).toBe(true);
    controller.abort();
    await run;
    expect(await waitForExit(grandchild, { pollMs: 20, timeoutMs: 5000 })).toBe(true);
  });

  it('passes arguments literally: spaces, semicolons and $(...) reach the program untouched (no shell)', async () => {
    const dir = tempDir();
    const logPath = join(dir, 'job.log');
    const tricky = ['two words', 'a; touch pwned', '$(touch pwned2)', '`id`', "'quoted'", '*', '$HOME'];
    await runCommand({ argv: script(`console.log(JSON.stringify(process.argv.slice(1)))`, ...tricky), cwd: dir, logPath });
    expect(readFileSync(logPath, 'utf8')).toContain(JSON.stringify(tricky));
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(existsSync(join(dir, 'pwned2'))).toBe(false);
  });
});

describe('isProcessAlive and waitForExit', () => {
  it('sees a running process, and waits until it exits', async () => {
    const dir = tempDir();
    const go = join(dir, 'go');
    let pid = 0;
    const run = runCommand({ argv: untilFileExists(go), logPath: join(dir, 'job.log'), onSpawn: (p) => (pid = p) });
    expect(isProcessAlive(pid)).toBe(true);
    writeFileSync(go, '');
    expect(await waitForExit(pid, { pollMs: 20 })).toBe(true);
    await run;
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('gives up waiting after timeoutMs, and at once when aborted', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    let pid = 0;
    const run = runCommand({ argv: script(`setTimeout(() => {}, 60_000)`), logPath: join(dir, 'job.log'), signal: controller.signal, onSpawn: (p) => (pid = p) });
    expect(await waitForExit(pid, { pollMs: 20, timeoutMs: 100 })).toBe(false);
    expect(await waitForExit(pid, { signal: AbortSignal.abort() })).toBe(false);
    controller.abort();
    await run.catch(() => undefined);
  });
});
