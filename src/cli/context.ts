import { CommanderError } from 'commander';
import { loadConfigFile, parseConfig, type Config } from '../config/index.ts';
import { ConfigError, UsageError } from '../errors.ts';

export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

export interface GlobalOptions {
  config?: string;
}

/** The config named by --config or RELENGD_CONFIG; without either, every default (the embedded transport). */
export function resolveConfig(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): { config: Config; file: string | null } {
  const file = options.config ?? env.RELENGD_CONFIG ?? null;
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
