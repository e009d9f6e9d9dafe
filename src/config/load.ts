import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { parseConfig } from './parse.ts';
import type { Config } from './schema.ts';

/**
 * Reads and parses a configuration file ({@link parseConfig} does the work). Relative
 * `bus.amqp.tls` paths are resolved against the file's directory, so a config and its
 * certificates can be deployed side by side.
 * @throws ConfigError when the file cannot be read or is invalid.
 */
export function loadConfigFile(file: string, env: Record<string, string | undefined> = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError('', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
  }
  const config = parseConfig(text, env, file);
  const tls = config.bus.amqp.tls;
  if (tls) {
    const base = dirname(resolve(file));
    for (const key of ['ca', 'cert', 'key'] as const) {
      const path = tls[key];
      if (path !== undefined && !isAbsolute(path)) tls[key] = resolve(base, path);
    }
  }
  return config;
}
