/**
 * How the wrapper runs `ostree`: one injectable function from an argv array to its result.
 * Tests hand the repository a recording `Run`; production uses {@link execRun}.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import { CommandFailedError, ToolMissingError } from '../errors.ts';

/** What a finished process said. `signal` is set when it was killed (then `exitCode` is 128 + signal number). */
export type RunResult = { exitCode: number; stdout: string; stderr: string; signal?: string };

/**
 * Runs `argv` (argv[0] is the program) and resolves with its result. A non-zero exit is NOT an
 * error here: the caller decides, because for ostree some failures are answers ("no such ref").
 */
export type Run = (argv: readonly string[]) => Promise<RunResult>;

/** Output bigger than this kills the process (a 10,000-commit `ostree log` is a few MB). */
const MAX_BUFFER = 512 * 1024 * 1024;

/**
 * The locale `ostree` runs in. GLib's `g_print` converts output to the locale's charset, so under
 * `C`/`POSIX` (a systemd unit without `LANG`) every non-ASCII character in a subject or metadata
 * value is printed as `?`. `C.UTF-8` keeps output lossless and messages unlocalized (stable to match).
 */
const LOCALE = 'C.UTF-8';

/**
 * The default {@link Run}: `execFile` with an argv array (never a shell), the program resolved from
 * PATH. Rejects with `CommandFailedError` (exitCode null) only when the process could not be run at
 * all (program missing) or its output overflowed the buffer.
 */
export const execRun: Run = (argv) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (file === undefined || file === '') {
      reject(new CommandFailedError({ argv, exitCode: null, signal: null, stderr: 'empty argv' }));
      return;
    }
    const options = { encoding: 'utf8' as const, maxBuffer: MAX_BUFFER, env: { ...process.env, LC_ALL: LOCALE }, windowsHide: true };
    execFile(file, args, options, (error, stdout, stderr) => {
      if (error === null) return resolve({ exitCode: 0, stdout, stderr });
      if (typeof error.code === 'number') return resolve({ exitCode: error.code, stdout, stderr });
      if (typeof error.code !== 'string' && error.signal) {
        const number = constants.signals[error.signal] ?? 0;
        return resolve({ exitCode: 128 + number, stdout, stderr, signal: error.signal });
      }
      if (error.code === 'ENOENT') return reject(new ToolMissingError(argv));
      // EACCES, or ERR_CHILD_PROCESS_STDIO_MAXBUFFER: no exit status to report.
      reject(new CommandFailedError({ argv, exitCode: null, signal: error.signal ?? null, stderr: `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}${error.message}` }));
    });
  });
