import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { parseConfig } from './parse.ts';
import type { Config } from './schema.ts';

/**
 * Reads and parses a configuration file ({@link parseConfig} does the work). Relative
 * `bus.amqp.tls`, `http.tls` and `http.auth.tokens[].file` paths are resolved against the file's directory,
 * so a config and its certificates and tokens can be deployed side by side; so is a command whose
 * program is given as `./x` or `../x` (a helper script shipped beside the config).
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
  const base = dirname(resolve(file));
  for (const token of config.http.auth.tokens) {
    if (token.file !== undefined && !isAbsolute(token.file)) token.file = resolve(base, token.file);
  }
  const httpTls = config.http.tls;
  if (httpTls) {
    for (const key of ['ca', 'cert', 'key'] as const) {
      const path = httpTls[key];
      if (path !== undefined && !isAbsolute(path)) httpTls[key] = resolve(base, path);
    }
  }
  const tls = config.bus.amqp.tls;
  if (tls) {
    for (const key of ['ca', 'cert', 'key'] as const) {
      const path = tls[key];
      if (path !== undefined && !isAbsolute(path)) tls[key] = resolve(base, path);
    }
  }
  for (const stream of config.streams) {
    stream.ostree.compose = besideConfig(stream.ostree.compose, base);
    for (const artifact of stream.artifacts) artifact.command = besideConfig(artifact.command, base);
  }
  return config;
}

/** argv with a `./` or `../` program resolved against the config's directory; a bare name stays for PATH. */
function besideConfig(argv: string[], base: string): string[] {
  const [program, ...args] = argv;
  if (program === undefined || !(program.startsWith('./') || program.startsWith('../'))) return argv;
  return [resolve(base, program), ...args];
}
