import { afterEach, describe, expect, it } from 'vitest';
import { migrate, PgDatabase, postgresMigrations, PostgresStore, schemaVersion } from '../../../../src/store/postgres/index.ts';
import { createThrowawayDatabase, postgresMissingReason, titled, type ThrowawayDatabase } from '../../../helpers/postgres.ts';

describe.skipIf(postgresMissingReason !== null)(titled('PostgreSQL migrations'), () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function freshDatabase(): Promise<ThrowawayDatabase> {
    const database = await createThrowawayDatabase();
    cleanups.push(() => database.drop());
    return database;
  }

  function pool(url: string, name: string): PgDatabase {
    const db = new PgDatabase(url, { applicationName: name, maxConnections: 2 });
    cleanups.push(() => db.close());
    return db;
  }

  it('applies each migration once when several processes open a new database at the same moment', async () => {
    const { url } = await freshDatabase();
    const replicas = ['replica-a', 'replica-b', 'replica-c', 'replica-d'].map((name) => pool(url, name));

    const applied = await Promise.all(replicas.map((db) => migrate(db)));

    const all = postgresMigrations.map((_, i) => i + 1);
    expect(applied.flat().sort((a, b) => a - b)).toEqual(all);
    // Everything went to whichever took the lock first; the others found the schema current.
    expect(applied.filter((versions) => versions.length > 0)).toHaveLength(1);
    const { rows } = await replicas[0]!.query<{ version: number; applied_by: string }>('SELECT version, applied_by FROM relengd_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(all);
    expect(new Set(rows.map((r) => r.applied_by)).size).toBe(1);
    for (const db of replicas) expect(await schemaVersion(db)).toBe(postgresMigrations.length);
  });

  it('opens stores concurrently on a new database and each one works', async () => {
    const { url } = await freshDatabase();
    const stores = await Promise.all([PostgresStore.open(url), PostgresStore.open(url), PostgresStore.open(url)]);
    for (const store of stores) cleanups.push(() => store.close());
    await stores[0]!.state.put('ns', 'k', { v: 1 }, '2026-12-02T00:00:00Z', 'test');
    expect(await stores[2]!.state.get('ns', 'k')).toEqual({ v: 1 });
  });

  it('applies only the migrations added since the last open, and a failing one leaves no trace', async () => {
    const { url } = await freshDatabase();
    const db = pool(url, 'upgrader');
    expect(await migrate(db, postgresMigrations.slice(0, 1))).toEqual([1]);
    expect(await migrate(db)).toEqual(postgresMigrations.slice(1).map((_, i) => i + 2));
    expect(await migrate(db)).toEqual([]);

    const broken = [...postgresMigrations, 'CREATE TABLE half_done (x INTEGER); SELECT no_such_function();'];
    await expect(migrate(db, broken)).rejects.toThrow(/no_such_function/);
    expect(await schemaVersion(db)).toBe(postgresMigrations.length);
    const { rows } = await db.query(`SELECT 1 FROM pg_tables WHERE tablename = 'half_done'`);
    expect(rows).toHaveLength(0);
  });

  it('refuses a store.url that is not postgres://', async () => {
    await expect(PostgresStore.open('mysql://127.0.0.1/relengd')).rejects.toThrow(/postgres:\/\//);
    await expect(PostgresStore.open('postgres://127.0.0.1')).rejects.toThrow(/names no database/);
  });
});
