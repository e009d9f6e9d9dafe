/**
 * The store under test, by backend (issue 11's test matrix): SQLite by default, a throwaway
 * PostgreSQL database per store when RELENGD_TEST_STORE=postgres (`npm run test:postgres`).
 * Tests that go through StoreApi only use {@link openTestStore}; what only SQLite has (the `.sync`
 * tables, raw SQL on the file) goes behind {@link itSqliteOnly}.
 */
import { join } from 'node:path';
import { afterAll, it, type TestFunction, type TestOptions } from 'vitest';
import type { StoreApi } from '../../src/store/api.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import type { ThrowawayDatabase } from './postgres.ts';

export type TestStoreBackend = 'sqlite' | 'postgres';

function backendFromEnv(): TestStoreBackend {
  const value = process.env.RELENGD_TEST_STORE ?? 'sqlite';
  if (value !== 'sqlite' && value !== 'postgres') throw new Error(`RELENGD_TEST_STORE must be sqlite or postgres, got ${value}`);
  return value;
}

export const testStoreBackend: TestStoreBackend = backendFromEnv();
export const onPostgres = testStoreBackend === 'postgres';

/** Only loaded on PostgreSQL: the probe and the pg client are not the SQLite run's business. */
const postgres = onPostgres ? await import('./postgres.ts') : undefined;
if (postgres?.postgresMissingReason) throw new Error(`RELENGD_TEST_STORE=postgres but ${postgres.postgresMissingReason}`);

const opened: StoreApi[] = [];
/** Each PostgreSQL store's database URL, for a reopen. */
const urls = new Map<StoreApi, string>();
const databases: ThrowawayDatabase[] = [];
if (onPostgres) {
  afterAll(async () => {
    for (const store of opened.splice(0)) if (store.isOpen()) await store.close();
    await Promise.all(databases.splice(0).map((d) => d.drop()));
  });
}

/** A URL of a fresh PostgreSQL database, dropped after the test file. */
export async function testDatabaseUrl(): Promise<string> {
  if (!postgres) throw new Error('testDatabaseUrl() is for RELENGD_TEST_STORE=postgres');
  const database = await postgres.createThrowawayDatabase();
  databases.push(database);
  return database.url;
}

/**
 * An empty store on the backend under test: SQLite at `dir`/relengd.db (in memory without `dir`),
 * or a database of its own on PostgreSQL. Each call is a new, empty store.
 */
export async function openTestStore(dir?: string): Promise<StoreApi> {
  if (!postgres) return SqliteStore.open(dir === undefined ? ':memory:' : join(dir, 'relengd.db'));
  const { PostgresStore } = await import('../../src/store/postgres/index.ts');
  const url = await testDatabaseUrl();
  const store = await PostgresStore.open(url);
  opened.push(store);
  urls.set(store, url);
  return store;
}

/** Reopens the store a test made with {@link openTestStore} (a restart): same file, or same database. */
export async function reopenTestStore(store: StoreApi, dir?: string): Promise<StoreApi> {
  if (store instanceof SqliteStore) return SqliteStore.open(dir === undefined ? store.location : join(dir, 'relengd.db'));
  const { PostgresStore } = await import('../../src/store/postgres/index.ts');
  const url = urls.get(store);
  if (url === undefined) throw new Error('reopenTestStore: not a store openTestStore made');
  const reopened = await PostgresStore.open(url);
  opened.push(reopened);
  urls.set(reopened, url);
  return reopened;
}

/**
 * `it` for what only the SQLite backend has (raw SQL on the file, the `.sync` tables): skipped on
 * PostgreSQL, with the reason in its title, so the run's output says why.
 */
export function itSqliteOnly(title: string, ...rest: [TestFunction] | [TestOptions, TestFunction]): void {
  const [options, fn] = rest.length === 1 ? [{}, rest[0]] : rest;
  it(onPostgres ? `${title} (skipped on PostgreSQL: it reaches into the SQLite file)` : title, { ...options, skip: onPostgres }, fn);
}
