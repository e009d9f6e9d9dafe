/**
 * HTTP identity: bearer tokens mapped to publisher names, and TLS client certificates.
 *
 * The configuration names where each token is (`http.auth.tokens: [{name, file} | {name, env}]`),
 * never the token itself; tokens are read once, when the daemon starts. A request's
 * `Authorization: Bearer <token>` is matched against every known token in constant time and
 * yields the publisher name the `publishers` allowlists use (`releng`), exactly as an AMQP
 * `user_id` does. With `http.tls.ca`, a client certificate that CA verifies names its publisher
 * by its subject CN.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { ConfigError } from '../errors.ts';
import { isLoopbackHost, PUBLISHER_NAME } from '../trust.ts';

/** Where one publisher's token is read from (one entry of `http.auth.tokens`). */
export interface TokenSource {
  name: string;
  file?: string | undefined;
  env?: string | undefined;
}

/** Shorter tokens are refused when loaded: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** What `Authorization: Bearer` can carry unquoted: visible ASCII, no spaces. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

interface KnownToken {
  readonly name: string;
  /** sha256 of the token: every digest has the same length, so comparing them leaks no length. */
  readonly digest: Buffer;
}

/** The configured bearer tokens and the publisher each authenticates. */
export class BearerTokens {
  readonly #known: readonly KnownToken[];

  private constructor(known: readonly KnownToken[]) {
    this.#known = known;
  }

  /**
   * Reads every token from its file or environment variable. A trailing newline is dropped
   * (`echo $TOKEN > file` writes one).
   * @param keyPath the config key of `sources`, for error messages.
   * @throws ConfigError naming the entry's `file` or `env` key when a token is missing, empty,
   *   shorter than {@link MIN_TOKEN_LENGTH}, not sendable in a header, or given to two names.
   *   Messages never contain a token.
   */
  static load(sources: readonly TokenSource[], env: Record<string, string | undefined> = process.env, keyPath = 'http.auth.tokens'): BearerTokens {
    const known: KnownToken[] = [];
    const nameOfDigest = new Map<string, string>();
    for (const [i, source] of sources.entries()) {
      const { token, key, where } = readToken(source, env, `${keyPath}[${i}]`);
      if (token === '') throw new ConfigError(key, `${where} is empty; it must hold ${source.name}'s token`);
      if (token.length < MIN_TOKEN_LENGTH) {
        throw new ConfigError(key, `the token in ${where} has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are required (generate one with: openssl rand -hex 32)`);
      }
      if (!TOKEN_CHARS.test(token)) throw new ConfigError(key, `the token in ${where} contains spaces or non-ASCII characters; a bearer token is one word of visible ASCII`);
      const digest = sha256(token);
      const other = nameOfDigest.get(digest.toString('hex'));
      if (other !== undefined && other !== source.name) {
        throw new ConfigError(key, `the token in ${where} is also ${other}'s token; each publisher needs its own`);
      }
      nameOfDigest.set(digest.toString('hex'), source.name);
      known.push({ name: source.name, digest });
    }
    return new BearerTokens(known);
  }

  /** How many tokens are configured (a name may have several, while one is rotated). */
  get size(): number {
    return this.#known.length;
  }

  /**
   * The publisher a token authenticates, or null when it is unknown. Runs in time independent
   * of the token's value: the token's digest is compared with every known digest, without
   * stopping at a match.
   */
  publisherFor(token: string): string | null {
    const digest = sha256(token);
    let match: string | null = null;
    for (const known of this.#known) {
      const equal = timingSafeEqual(digest, known.digest);
      if (equal && match === null) match = known.name;
    }
    return match;
  }
}

/** Who sent a request, from its Authorization header. */
export type RequestIdentity =
  /** No Authorization header: allowlisted topics refuse it (403), other topics accept it. */
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'publisher'; readonly name: string }
  /** An Authorization header that authenticates no one: answered 401, never taken as anonymous. */
  | { readonly kind: 'refused'; readonly reason: string };

/** Maps a request's `Authorization` header to its identity. */
export function identify(authorization: string | undefined, tokens: BearerTokens | undefined): RequestIdentity {
  if (authorization === undefined) return { kind: 'anonymous' };
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match) return { kind: 'refused', reason: 'the Authorization header is not "Bearer <token>"' };
  const name = tokens?.publisherFor(match[1]!) ?? null;
  return name === null ? { kind: 'refused', reason: 'unknown bearer token' } : { kind: 'publisher', name };
}

/**
 * The identity a TLS client certificate gives, on a server that asks for them: anonymous without
 * one, the subject CN of one the configured CA verifies, refused (401) for any other.
 */
export function identifyClientCertificate(socket: TLSSocket): RequestIdentity {
  const certificate = socket.getPeerCertificate();
  if (!certificate || Object.keys(certificate).length === 0) return { kind: 'anonymous' };
  if (!socket.authorized) return { kind: 'refused', reason: `client certificate not accepted (${String(socket.authorizationError)})` };
  const cn = certificate.subject?.CN;
  if (typeof cn !== 'string' || !PUBLISHER_NAME.test(cn)) return { kind: 'refused', reason: 'the client certificate has no single subject CN usable as a publisher name' };
  return { kind: 'publisher', name: cn };
}

/** One identity from two credentials: a refusal wins, and two that name different publishers are refused. */
export function combineIdentities(a: RequestIdentity, b: RequestIdentity): RequestIdentity {
  if (a.kind === 'refused') return a;
  if (b.kind === 'refused') return b;
  if (a.kind === 'publisher' && b.kind === 'publisher' && a.name !== b.name) {
    return { kind: 'refused', reason: 'the client certificate and the bearer token name different publishers' };
  }
  return a.kind === 'publisher' ? a : b;
}

/** `http.tls` read from disk. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** Set: clients are asked for certificates, verified against it. */
  ca?: Buffer | undefined;
}

/**
 * Reads the HTTPS files and checks they make a usable TLS context, so a bad file stops the daemon
 * at start with the key named.
 * @throws ConfigError naming `http.tls.<file>` (or `http.tls` when they do not fit together).
 */
export function readServerTls(files: { cert: string; key: string; ca?: string | undefined }, keyPath = 'http.tls'): ServerTls {
  const read = (key: 'cert' | 'key' | 'ca', path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(`${keyPath}.${key}`, `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
    }
  };
  const tls: ServerTls = { cert: read('cert', files.cert), key: read('key', files.key), ca: files.ca === undefined ? undefined : read('ca', files.ca) };
  try {
    createSecureContext({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) });
  } catch (error) {
    throw new ConfigError(keyPath, `the certificate, key or CA file is not usable: ${(error as Error).message}`, { cause: error });
  }
  return tls;
}

/**
 * Refuses a listener that other machines can reach when no client can be authenticated there:
 * every request would be anonymous.
 * @param clientCertificates whether clients can authenticate with certificates (`http.tls.ca`).
 * @throws ConfigError naming `http.host`.
 */
export function assertListenerAllowed(host: string, tokens: BearerTokens | undefined, clientCertificates = false): void {
  if (isLoopbackHost(host) || (tokens !== undefined && tokens.size > 0) || clientCertificates) return;
  throw new ConfigError('http.host', `${host} is not a loopback address and http.auth.tokens is empty: clients there could not be authenticated; listen on 127.0.0.1 or configure tokens`);
}

function readToken(source: TokenSource, env: Record<string, string | undefined>, entryKey: string): { token: string; key: string; where: string } {
  if (source.file !== undefined) {
    const key = `${entryKey}.file`;
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(key, `cannot read the token file ${source.file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
    }
    return { token: text.replace(/[\r\n]+$/, ''), key, where: `file ${source.file}` };
  }
  if (source.env !== undefined) {
    const key = `${entryKey}.env`;
    const value = env[source.env];
    if (value === undefined) throw new ConfigError(key, `environment variable ${source.env} is not set; it must hold ${source.name}'s token`);
    return { token: value.replace(/[\r\n]+$/, ''), key, where: `environment variable ${source.env}` };
  }
  throw new ConfigError(entryKey, 'give file or env: where the token is');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
