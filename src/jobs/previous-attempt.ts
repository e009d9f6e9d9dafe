import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { isProcessAlive, signalGroup, waitForExit } from './process.ts';

export interface PreviousAttemptOptions {
  /** How long the earlier command may still run before it is killed (the job's budget). */
  timeoutMs: number;
  killGraceMs: number;
  signal: AbortSignal;
  logger: Logger;
  pollMs?: number | undefined;
}

/**
 * Before a recovering attempt: a command the interrupted attempt started may outlive the daemon
 * that started it (a crash does not kill children). For every `*.pid` file in the job's directory
 * whose process still runs, wait for it to exit (its results are then there to read back); past
 * `timeoutMs` end its process group (SIGTERM, SIGKILL after `killGraceMs`).
 *
 * A pid file older than the last boot is stale (the pid may belong to someone else now) and ignored.
 * @returns false when the wait was aborted (the runner is stopping) with a process still running.
 */
export async function awaitPreviousAttempt(jobDir: string, options: PreviousAttemptOptions): Promise<boolean> {
  const bootedAt = Date.now() - uptime() * 1000;
  for (const pidFile of pidFiles(jobDir)) {
    const { pid } = pidFile;
    if (pid !== undefined && pidFile.mtimeMs >= bootedAt && isProcessAlive(pid)) {
      const log = options.logger.child({ pid, pidFile: pidFile.path });
      log.warn('command of the interrupted attempt still running; waiting for it to exit');
      const poll = { pollMs: options.pollMs, signal: options.signal };
      if (!(await waitForExit(pid, { ...poll, timeoutMs: options.timeoutMs }))) {
        if (options.signal.aborted) return false;
        log.warn({ timeoutMs: options.timeoutMs }, 'command of the interrupted attempt ran past the job timeout; killing it');
        signalGroup(pid, 'SIGTERM');
        if (!(await waitForExit(pid, { ...poll, timeoutMs: options.killGraceMs }))) {
          signalGroup(pid, 'SIGKILL');
          await waitForExit(pid, { ...poll, timeoutMs: options.killGraceMs });
        }
      }
    }
    rmSync(pidFile.path, { force: true });
  }
  return true;
}

/** The pid files in `dir` with their pid and age; files vanishing meanwhile (their command exited) are skipped. */
function pidFiles(dir: string): Array<{ path: string; pid: number | undefined; mtimeMs: number }> {
  const files: Array<{ path: string; pid: number | undefined; mtimeMs: number }> = [];
  for (const name of ifExists(() => readdirSync(dir)) ?? []) {
    if (!name.endsWith('.pid')) continue;
    const path = join(dir, name);
    const file = ifExists(() => ({ mtimeMs: statSync(path).mtimeMs, text: readFileSync(path, 'utf8') }));
    if (!file) continue;
    const pid = Number.parseInt(file.text.trim(), 10);
    files.push({ path, pid: Number.isSafeInteger(pid) && pid > 1 ? pid : undefined, mtimeMs: file.mtimeMs });
  }
  return files;
}

function ifExists<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
