/**
 * The machine's PostgreSQL for the store tests (`RELENGD_TEST_POSTGRES_URL`, default
 * postgres://postgres@127.0.0.1:5432/postgres: trust auth on loopback, as `.ci/run` sets it up).
 * Each test file gets a throwaway database of its own (`relengd_test_<random>`), dropped after.
 * No server answering: the tests skip and say why, except under CI=true, where they fail.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/index.ts';

export const postgresAdminUrl = process.env.RELENGD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function redacted(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/** Null when the server answers, else why not. */
async function probe(): Promise<string | null> {
  const client = new Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `no PostgreSQL at ${redacted(postgresAdminUrl)} (${(error as Error).message}); start it (.ci/run does) or set RELENGD_TEST_POSTGRES_URL`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const postgresMissingReason: string | null = await probe();
if (postgresMissingReason !== null && process.env.CI === 'true') throw new Error(`CI=true but ${postgresMissingReason}`);
if (postgresMissingReason !== null) console.warn(`skipping PostgreSQL tests: ${postgresMissingReason}`);

/** A describe title that says why it is skipped. */
export function titled(title: string): string {
  return postgresMissingReason === null ? title : `${title} (skipped: ${postgresMissingReason})`;
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: postgresAdminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface ThrowawayDatabase {
  name: string;
  /** postgres:// URL of the database, same server and user as the admin URL. */
  url: string;
  /** Drops it, closing whatever connections are still open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database `relengd_test_<random>` (the caller drops it). */
export async function createThrowawayDatabase(): Promise<ThrowawayDatabase> {
  const name = `relengd_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${escapeIdentifier(name)}`));
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`))),
  };
}

/**
 * A throwaway database for the current test file: created before its tests, dropped after them.
 * @returns the database's URL, readable once the file's tests run.
 */
export function useThrowawayDatabase(): () => string {
  let database: ThrowawayDatabase | undefined;
  beforeAll(async () => {
    database = await createThrowawayDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  return () => {
    if (!database) throw new Error('the throwaway database is made in beforeAll: read its URL inside a test or hook');
    return database.url;
  };
}

/**
 * Two stores on one throwaway database, as two replicas would hold them (a pool each), for the
 * current test file; emptied before each test so tests do not see each other's rows.
 */
export function useReplicaStores(): () => { url: string; a: PostgresStore; b: PostgresStore } {
  const url = useThrowawayDatabase();
  let stores: { url: string; a: PostgresStore; b: PostgresStore } | undefined;
  beforeAll(async () => {
    const [a, b] = await Promise.all([PostgresStore.open(url(), { applicationName: 'replica-a' }), PostgresStore.open(url(), { applicationName: 'replica-b' })]);
    stores = { url: url(), a, b };
  });
  beforeEach(async () => {
    await stores!.a.db.query('TRUNCATE events, outbox, jobs, state, rejected, daemons, leases, replicas RESTART IDENTITY');
  });
  afterAll(async () => {
    await stores?.a.close();
    await stores?.b.close();
  });
  return () => {
    if (!stores) throw new Error('the stores are opened in beforeAll: read them inside a test or hook');
    return stores;
  };
}
