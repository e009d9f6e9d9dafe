/**
 * The files and directories a configuration makes relengd open, and moving a configuration onto
 * this machine: each path a deployment mounts (a volume, a Secret, the image's own files) is
 * replaced by the local directory standing in for it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Config } from '../../../src/config/index.ts';

export interface ConfigPath {
  /** The config key naming it (`streams[0].ostree.repo`). */
  key: string;
  path: string;
  /** Whether relengd writes there (a directory), or only reads (a file or a repository). */
  writes: boolean;
  /** A file (a token, a certificate), else a directory. */
  file: boolean;
}

/** Every path relengd itself opens with this configuration (not the paths inside job commands). */
export function pathsRelengdOpens(config: Config): ConfigPath[] {
  const out: ConfigPath[] = [];
  const dir = (key: string, path: string | undefined, writes: boolean) => path !== undefined && out.push({ key, path, writes, file: false });
  const file = (key: string, path: string | undefined) => path !== undefined && out.push({ key, path, writes: false, file: true });
  dir('store.path (its directory: the WAL lives beside it)', dirname(config.store.path), true);
  dir('jobs.workdir', config.jobs.workdir, true);
  config.http.auth.tokens.forEach((t, i) => file(`http.auth.tokens[${i}].file`, t.file));
  for (const k of ['cert', 'key', 'ca'] as const) file(`http.tls.${k}`, config.http.tls?.[k]);
  if (config.bus.transport === 'amqp') for (const k of ['ca', 'cert', 'key'] as const) file(`bus.amqp.tls.${k}`, config.bus.amqp.tls?.[k]);
  if (config.bus.transport === 'kafka') {
    for (const k of ['ca', 'cert', 'key'] as const) file(`bus.kafka.tls.${k}`, config.bus.kafka.tls?.[k]);
    file('bus.kafka.sasl.passwordFile', config.bus.kafka.sasl?.passwordFile);
  }
  config.streams.forEach((s, i) => {
    dir(`streams[${i}].ostree.repo`, s.ostree.repo, true);
    dir(`streams[${i}].triggers.pungi.repo`, s.triggers.pungi?.repo, false);
    dir(`streams[${i}].promote.from.repo`, s.promote?.from?.repo, false);
    dir(`streams[${i}].promote.metadata (its directory)`, s.promote?.metadata === undefined ? undefined : dirname(s.promote.metadata), true);
    dir(`streams[${i}].promote.summary.gpgHome`, s.promote?.summary.gpgHome, true);
  });
  return out;
}

/** Whether `path` is `dir` or inside it. */
export function isUnder(path: string, dir: string): boolean {
  const rel = posix.relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel));
}

/** Deployment path -> local path. The longest matching prefix wins (a Secret mounted inside a volume). */
export type Mounts = ReadonlyMap<string, string>;

export function relocatePath(path: string, mounts: Mounts): string | undefined {
  const match = [...mounts.keys()].filter((from) => isUnder(path, from)).sort((a, b) => b.length - a.length)[0];
  return match === undefined ? undefined : join(mounts.get(match)!, posix.relative(match, path));
}

/**
 * The configuration text with every string that is a mounted path (a value, an argv element)
 * replaced by its local stand-in; `edit` then changes what this machine needs changed.
 */
export function relocateConfig(text: string, mounts: Mounts, edit: (data: Record<string, unknown>) => void = () => undefined): string {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.startsWith('/') ? (relocatePath(value, mounts) ?? value) : value;
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  const data = walk(parse(text) as unknown) as Record<string, unknown>;
  edit(data);
  return stringify(data);
}

/** Sets `data.a.b.c = value`, creating the mappings on the way. */
export function setKey(data: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = data;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[path.at(-1)!] = value;
}

/** PEM texts: a certificate and its private key. */
export interface Pem {
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1 and its key (openssl, argv only). */
export function selfSignedPem(dir: string): Pem {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'self-signed.crt');
  const key = join(dir, 'self-signed.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** What a Secret file holds, told by its name: a PEM key, a PEM certificate, else a fresh bearer token. */
export function secretFileContent(name: string, pem: Pem): string {
  if (/(^|[.-])key(\.pem)?$/.test(name)) return pem.key;
  if (/\.(pem|crt)$/.test(name)) return pem.cert;
  return `${randomBytes(24).toString('hex')}\n`;
}

/**
 * Puts in place what a host provides before relengd starts: each directory the configuration
 * names, and each file it reads (certificates and keys from `pem`, fresh tokens).
 */
export function provideConfigPaths(config: Config, pem: Pem): void {
  for (const { path, file } of pathsRelengdOpens(config)) {
    if (!file) mkdirSync(path, { recursive: true });
    else writeFileIn(path, secretFileContent(path.split('/').at(-1)!, pem));
  }
}

/** Writes `content` at `file`, creating its directory. */
export function writeFileIn(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}
