import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '../config/index.ts';
import { ConfigError } from '../errors.ts';
import type { StoreApi } from './api.ts';
import { PostgresStore } from './postgres/index.ts';
import { SqliteStore } from './sqlite-store.ts';

export interface OpenStoreOptions {
  /** Read-only verbs never create a SQLite store: a wrong or missing --config is an error, not an empty store. */
  existing?: boolean;
  /** Where `store.passwordEnv` is read. @default process.env */
  env?: Record<string, string | undefined>;
}

/** The store the configuration names: PostgreSQL when `store.url` is set (replicas), else the SQLite file. */
export async function openStore(config: Pick<Config, 'store' | 'retention'>, options: OpenStoreOptions = {}): Promise<StoreApi> {
  const { store } = config;
  const rejectedRawBytes = config.retention.rejectedRawBytes;
  if (store.url === undefined) {
    return options.existing ? SqliteStore.openExisting(store.path, { rejectedRawBytes }) : SqliteStore.open(store.path, { rejectedRawBytes });
  }
  return PostgresStore.open(withPassword(store, options.env ?? process.env), {
    rejectedRawBytes,
    replicaId: store.replicaId ?? `${hostname()}-${process.pid}`,
    leaseMs: store.leaseSeconds * 1000,
  });
}

/** The URL with the password from `passwordFile`/`passwordEnv` in it (never logged: `location` drops it). */
function withPassword(store: Config['store'], env: Record<string, string | undefined>): string {
  const url = new URL(store.url!);
  let password: string | undefined;
  if (store.passwordFile !== undefined) {
    try {
      password = readFileSync(store.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError('store.passwordFile', `cannot read ${store.passwordFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
  } else if (store.passwordEnv !== undefined) {
    password = env[store.passwordEnv];
  }
  if (password === undefined) return url.href;
  if (password === '') {
    const key = store.passwordFile !== undefined ? 'store.passwordFile' : 'store.passwordEnv';
    throw new ConfigError(key, `the PostgreSQL password is empty (${store.passwordFile ?? `$${store.passwordEnv}`})`);
  }
  url.password = encodeURIComponent(password);
  return url.href;
}
