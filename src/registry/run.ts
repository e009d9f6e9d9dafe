/**
 * How the registry wrappers run skopeo, umoci and buildah: one injectable function from an argv
 * array to its result. stdout stays bytes: a manifest's digest is the hash of exactly what the
 * registry served.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:os';
import { CommandFailedError, ToolMissingError } from '../errors.ts';

/** What a finished process said. `signal` is set when it was killed. */
export interface RunResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
  signal?: string;
}

/**
 * Runs `argv` (argv[0] is the program) with `env` merged over the process's environment. A non-zero
 * exit is NOT an error here: for skopeo "manifest unknown" is an answer (no such tag).
 */
export type Run = (argv: readonly string[], options?: { env?: Readonly<Record<string, string>> }) => Promise<RunResult>;

export interface ExecRunOptions {
  /** Aborting it kills the command (a job cancelled or the runner stopping). */
  signal?: AbortSignal | undefined;
  /** Kill a command running longer. None by default. */
  timeoutMs?: number | undefined;
  /** Told of each command and how it ended: the job log keeps what the registry said. */
  onFinished?: ((argv: readonly string[], result: RunResult) => void) | undefined;
}

/** A manifest list of a hundred arches is a few hundred KB; image pushes print progress lines. */
const MAX_BUFFER = 64 * 1024 * 1024;

/**
 * The default {@link Run}: `execFile` with an argv array (never a shell). Rejects with
 * `ToolMissingError` when the program is not installed, `CommandFailedError` when it could not run.
 */
export function execRun(options: ExecRunOptions = {}): Run {
  return (argv, runOptions = {}) =>
    new Promise((resolve, reject) => {
      const [file, ...args] = argv;
      if (file === undefined || file === '') {
        reject(new CommandFailedError({ argv, exitCode: null, signal: null, stderr: 'empty argv' }));
        return;
      }
      const env = { ...process.env, LC_ALL: 'C.UTF-8', ...runOptions.env };
      const finish = (result: RunResult): void => {
        options.onFinished?.(argv, result);
        resolve(result);
      };
      execFile(file, args, { encoding: 'buffer', maxBuffer: MAX_BUFFER, env, signal: options.signal, timeout: options.timeoutMs ?? 0, killSignal: 'SIGKILL' }, (error, stdout, stderrBytes) => {
        const stderr = stderrBytes.toString('utf8');
        if (error === null) return finish({ exitCode: 0, stdout, stderr });
        if (typeof error.code === 'number') return finish({ exitCode: error.code, stdout, stderr });
        if (error.code === 'ENOENT') return reject(new ToolMissingError(argv));
        if (error.signal) return finish({ exitCode: 128 + (constants.signals[error.signal] ?? 0), stdout, stderr, signal: error.signal });
        reject(new CommandFailedError({ argv, exitCode: null, signal: null, stderr: `${stderr}${error.message}` }));
      });
    });
}

/** A failure of `argv` as an error; `retriable` when trying again can help (the registry did not answer). */
export function commandFailed(argv: readonly string[], result: RunResult, retriable = false): CommandFailedError {
  const signal = result.signal ?? null;
  return new CommandFailedError({ argv, exitCode: signal === null ? result.exitCode : null, signal, stderr: result.stderr, retriable });
}
