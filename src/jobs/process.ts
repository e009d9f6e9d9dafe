import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../clock.ts';
import { CommandFailedError } from '../errors.ts';
import { notInstalledMessage } from '../system-tools.ts';
import { sleep } from '../retry.ts';

/**
 * Running external commands for jobs: argv arrays (never a shell), output into the job's log,
 * timeouts and cancellation that end the whole process group (SIGTERM, then SIGKILL).
 *
 * The command's stdout and stderr are the log file itself (the child inherits an append-mode
 * descriptor), so nothing is lost when the daemon dies mid-command: an orphaned command keeps
 * writing to its log, and the next attempt can wait for it (see `waitForExit`). The price is that
 * stdout and stderr share one stream: an error's `stderr` is the tail of the command's output.
 */

/** Lines written into the log around each command start with this marker. */
export const LOG_MARKER = '# relengd:';

/** Default wait between SIGTERM and SIGKILL. */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/** Bytes of output kept for an error's tail. */
const TAIL_BYTES = 4096;
/** Lines of output kept for an error's tail. */
const TAIL_LINES = 20;

export interface CommandOptions {
  /** The command and its arguments, passed to the program as they are (no shell, no expansion). */
  argv: readonly string[];
  cwd?: string | undefined;
  /** Merged over `process.env`; a key set to undefined is removed from the child's environment. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** stdout and stderr are appended here, between a header and a footer line. Parent directories are created. */
  logPath: string;
  /** Written with the child's pid right after spawn, removed when it exits. */
  pidFile?: string | undefined;
  /** SIGTERM to the process group after this long, SIGKILL `killGraceMs` later. None by default. */
  timeoutMs?: number | undefined;
  /** @default 10000 */
  killGraceMs?: number | undefined;
  /** Aborting it ends the command as a timeout does (SIGTERM, then SIGKILL). */
  signal?: AbortSignal | undefined;
  /** For the header's start time. @default systemClock */
  clock?: Clock | undefined;
  /** Called with the child's pid once it runs (after the pid file is written). */
  onSpawn?: ((pid: number) => void) | undefined;
}

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** Ended by `timeoutMs`. */
  timedOut: boolean;
  /** Ended by the abort signal. */
  cancelled: boolean;
}

/** The command could not be started at all: `code` is the spawn error (`ENOENT`: not found; `EACCES`: not executable). */
export class CommandNotStartedError extends CommandFailedError {
  readonly code: string;
  constructor(init: { argv: readonly string[]; code: string; detail: string; logPath: string }) {
    super({ argv: init.argv, exitCode: null, signal: null, stderr: init.detail, logPath: init.logPath });
    this.code = init.code;
    this.message = init.detail;
  }
}

/** The command ran past `timeoutMs` and was killed. */
export class CommandTimedOutError extends CommandFailedError {
  readonly timeoutMs: number;
  readonly result: CommandResult;
  constructor(init: { argv: readonly string[]; result: CommandResult; timeoutMs: number; stderr: string; logPath: string }) {
    super({ argv: init.argv, exitCode: init.result.exitCode, signal: init.result.signal, stderr: init.stderr, logPath: init.logPath });
    this.timeoutMs = init.timeoutMs;
    this.result = init.result;
    this.message = `${init.argv[0]} timed out after ${init.timeoutMs} ms (${describeExit(init.result)})`;
  }
}

/** The command was ended because its abort signal fired (shutdown, or an operator cancelled the job). */
export class CommandCancelledError extends CommandFailedError {
  readonly result: CommandResult;
  constructor(init: { argv: readonly string[]; result: CommandResult; stderr: string; logPath: string }) {
    super({ argv: init.argv, exitCode: init.result.exitCode, signal: init.result.signal, stderr: init.stderr, logPath: init.logPath });
    this.result = init.result;
    this.message = `${init.argv[0]} cancelled (${init.result.durationMs === 0 ? 'not started' : describeExit(init.result)})`;
  }
}

/**
 * Runs one command to completion.
 * @returns the result when it exited 0 (and was neither timed out nor cancelled).
 * @throws CommandNotStartedError (not found, not executable), CommandTimedOutError,
 *   CommandCancelledError, or CommandFailedError (non-zero exit, killed by a signal); none retriable.
 */
export async function runCommand(opts: CommandOptions): Promise<CommandResult> {
  const argv = [...opts.argv];
  const command = argv[0];
  if (!command) throw new TypeError('runCommand: argv must name a command');
  const killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const { logPath } = opts;

  mkdirSync(dirname(logPath), { recursive: true });
  appendFileSync(logPath, `${LOG_MARKER} ${(opts.clock ?? systemClock).now().toISOString()} started ${JSON.stringify(argv)}${opts.cwd ? ` in ${opts.cwd}` : ''}\n`);
  const outputStart = statSync(logPath).size;

  if (opts.signal?.aborted) {
    const result: CommandResult = { exitCode: null, signal: null, durationMs: 0, timedOut: false, cancelled: true };
    appendFileSync(logPath, `${LOG_MARKER} not started: cancelled\n`);
    throw new CommandCancelledError({ argv, result, stderr: '', logPath });
  }

  const started = performance.now();
  const fd = openSync(logPath, 'a');
  let child;
  try {
    // Own process group (detached): a timeout or cancel signals the command and everything it started.
    child = spawn(command, argv.slice(1), { cwd: opts.cwd, env: childEnv(opts.env), stdio: ['ignore', fd, fd], detached: true });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
  const pid = child.pid;

  return new Promise<CommandResult>((resolve, reject) => {
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const terminate = (): void => {
      if (pid === undefined || killTimer) return;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), killGraceMs);
    };
    const timeoutTimer = opts.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), terminate()), opts.timeoutMs);
    const onAbort = (): void => {
      cancelled = true;
      terminate();
    };
    const cleanUp = (): void => {
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.pidFile && pid !== undefined) rmSync(opts.pidFile, { force: true });
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      // After a successful spawn, errors come only from signalling, which `signalGroup` does itself.
      if (settled || pid !== undefined) return;
      cleanUp();
      const code = error.code ?? 'UNKNOWN';
      const detail = describeSpawnError(command, code, error.message, opts.cwd);
      appendFileSync(logPath, `${LOG_MARKER} not started: ${detail}\n`);
      reject(new CommandNotStartedError({ argv, code, detail, logPath }));
    });

    child.on('exit', (exitCode, signal) => {
      // A command that never started is reported by the 'error' handler.
      if (settled || pid === undefined) return;
      // Stragglers of a terminated group (the leader went first) do not outlive it.
      if (timedOut || cancelled) signalGroup(pid, 'SIGKILL');
      cleanUp();
      const result: CommandResult = { exitCode, signal, durationMs: Math.round(performance.now() - started), timedOut, cancelled };
      const stderr = timedOut || cancelled || exitCode !== 0 ? readTail(logPath, outputStart) : '';
      appendFileSync(logPath, `${LOG_MARKER} ${describeEnd(result, opts.timeoutMs)}\n`);
      if (timedOut) reject(new CommandTimedOutError({ argv, result, timeoutMs: opts.timeoutMs ?? 0, stderr, logPath }));
      else if (cancelled) reject(new CommandCancelledError({ argv, result, stderr, logPath }));
      else if (exitCode !== 0) reject(new CommandFailedError({ argv, exitCode, signal, stderr, logPath }));
      else resolve(result);
    });

    if (pid === undefined) return;
    if (opts.pidFile) {
      mkdirSync(dirname(opts.pidFile), { recursive: true });
      writeFileSync(opts.pidFile, `${pid}\n`);
    }
    if (opts.signal) {
      opts.signal.addEventListener('abort', onAbort, { once: true });
      // The signal may have fired while the child was being spawned.
      if (opts.signal.aborted) onAbort();
    }
    opts.onSpawn?.(pid);
  });
}

/** Whether a process with this pid exists (and is not a zombie). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

export interface WaitForExitOptions {
  /** @default 250 */
  pollMs?: number | undefined;
  /** Give up after this long; none by default. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Waits for a process that is not our child (the command of an interrupted attempt) to exit, by polling.
 * @returns true when it is gone, false when the wait timed out or was aborted first.
 */
export async function waitForExit(pid: number, options: WaitForExitOptions = {}): Promise<boolean> {
  const pollMs = options.pollMs ?? 250;
  const deadline = options.timeoutMs === undefined ? Infinity : performance.now() + options.timeoutMs;
  for (;;) {
    if (!isProcessAlive(pid)) return true;
    if (options.signal?.aborted) return false;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(pollMs, left), options.signal);
  }
}

/** Signals a process group (our commands lead their own), falling back to the single process. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // ESRCH: already gone, which is what we wanted.
    }
  }
}

/** The footer line's text: how a command ended. */
export function describeEnd(result: CommandResult, timeoutMs?: number): string {
  const why = result.timedOut ? `timed out after ${timeoutMs} ms, ` : result.cancelled ? 'cancelled, ' : '';
  return `${why}${describeExit(result)} after ${result.durationMs} ms`;
}

function describeExit(result: Pick<CommandResult, 'exitCode' | 'signal'>): string {
  return result.signal ? `killed by ${result.signal}` : `exited ${result.exitCode}`;
}

/** The last lines of `text`, at most `maxLines`. */
export function tailLines(text: string, maxLines: number = TAIL_LINES): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  return lines.slice(-maxLines).join('\n');
}

function describeSpawnError(command: string, code: string, message: string, cwd: string | undefined): string {
  // Node reports a missing working directory as the command missing.
  if (code === 'ENOENT' && cwd && !existsSync(cwd)) return `could not start ${command}: working directory ${cwd} does not exist`;
  if (code === 'ENOENT') return notInstalledMessage(command);
  if (code === 'EACCES') return `could not start ${command}: permission denied (not executable?)`;
  return `could not start ${command}: ${message}`;
}

function childEnv(env: CommandOptions['env']): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(env ?? {})) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** The tail of what the command wrote: the log from `from` to its end, last few KB, last lines. */
function readTail(logPath: string, from: number): string {
  const size = statSync(logPath).size;
  const start = Math.max(from, size - TAIL_BYTES);
  const length = size - start;
  if (length <= 0) return '';
  const buffer = Buffer.alloc(length);
  const fd = openSync(logPath, 'r');
  try {
    readSync(fd, buffer, 0, length, start);
  } finally {
    closeSync(fd);
  }
  return tailLines(buffer.toString('utf8'));
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
