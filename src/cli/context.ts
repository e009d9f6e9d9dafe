import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { loadConfigFile, parseConfig, type Config } from '../config/index.ts';
import { ConfigError, UsageError } from '../errors.ts';

export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

export interface GlobalOptions {
  config?: string;
}

/** The config named by --config or RELENGD_CONFIG; without either, every default (the embedded transport). */
export function resolveConfig(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): { config: Config; file: string | null } {
  // An empty RELENGD_CONFIG is unset, as shells and unit files write it.
  const file = options.config ?? (env.RELENGD_CONFIG || null);
  if (file) return { config: loadConfigFile(file, env), file };
  return { config: parseConfig('', env, '<defaults>'), file: null };
}

/** Maps an error to the exit code contract: 2 for usage and configuration errors, 1 for the rest. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError) return ExitCode.usage;
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  return ExitCode.failure;
}

/** Prints data: JSON with --json, else the human rendering. */
export function output(json: boolean | undefined, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/**
 * The bearer token to send to the daemon's HTTP endpoint: read from `--token-file` (a trailing
 * newline dropped), else `$RELENGD_TOKEN`; undefined when neither is given.
 * @throws UsageError when the file cannot be read or holds no token.
 */
export function httpTokenFrom(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (tokenFile === undefined) return env.RELENGD_TOKEN || undefined;
  let text: string;
  try {
    text = readFileSync(tokenFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read --token-file ${tokenFile}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const token = text.replace(/[\r\n]+$/, '');
  if (token === '') throw new UsageError(`--token-file ${tokenFile} is empty`);
  // As the daemon reads its token files: one word of visible ASCII (an HTTP header cannot carry more).
  if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError(`--token-file ${tokenFile} does not hold one token: a bearer token is one word of visible ASCII on one line`);
  return token;
}
