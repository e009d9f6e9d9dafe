import type { PgDatabase } from './database.ts';
import { postgresMigrations } from './migrations.ts';

/**
 * Key of the transaction-scoped advisory lock migrations run under (an arbitrary constant: 'rlngmig1'
 * in ASCII). Every replica starting at once queues on it; the first applies what is missing, the
 * others then find nothing left to do.
 */
export const MIGRATION_LOCK_KEY = 0x726c6e676d696731n;

/**
 * Applies the migrations this database has not had, each recorded in `relengd_migrations`, all in
 * one transaction under `pg_advisory_xact_lock`: two processes opening the store at once apply each
 * migration once (the bookkeeping table itself is created under the lock too). PostgreSQL's DDL is
 * transactional, so a failed migration leaves nothing half done.
 * @returns the versions this call applied (empty when the schema was current).
 */
export async function migrate(db: PgDatabase, migrations: readonly string[] = postgresMigrations): Promise<number[]> {
  return db.transaction(async () => {
    await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await db.query(`CREATE TABLE IF NOT EXISTS relengd_migrations (
      version     INTEGER PRIMARY KEY,
      applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      applied_by  TEXT NOT NULL DEFAULT current_setting('application_name')
    )`);
    const current = await schemaVersion(db);
    const applied: number[] = [];
    for (let version = current + 1; version <= migrations.length; version++) {
      await db.query(migrations[version - 1]!);
      await db.query('INSERT INTO relengd_migrations (version) VALUES ($1)', [version]);
      applied.push(version);
    }
    return applied;
  });
}

/** The newest migration applied (0 before any). */
export async function schemaVersion(db: PgDatabase): Promise<number> {
  const { rows } = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM relengd_migrations');
  return rows[0]?.version ?? 0;
}
