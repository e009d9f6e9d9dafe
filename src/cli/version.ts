import { readFileSync } from 'node:fs';

/** relengd's version, from its package.json (one place to change it). */
export function relengdVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
