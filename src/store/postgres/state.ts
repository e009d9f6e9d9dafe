import type { PgDatabase } from './database.ts';

/** Listener state on PostgreSQL: small JSON documents by (namespace, key), as the SQLite store's StateTable. */
export class PgStateTable {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async get(namespace: string, key: string): Promise<unknown> {
    const { rows } = await this.#db.query<{ value: string }>('SELECT value FROM state WHERE namespace = $1 AND key = $2', [namespace, key]);
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].value) as unknown);
  }

  async list(namespace: string): Promise<Array<{ key: string; value: unknown }>> {
    // COLLATE "C": byte order, as SQLite's ORDER BY key (the database's default collation may differ).
    const { rows } = await this.#db.query<{ key: string; value: string }>('SELECT key, value FROM state WHERE namespace = $1 ORDER BY key COLLATE "C"', [namespace]);
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as unknown }));
  }

  /** Sets a value; `null` deletes the key. */
  async put(namespace: string, key: string, value: unknown, at: string, by: string): Promise<void> {
    if (value === null) {
      await this.#db.query('DELETE FROM state WHERE namespace = $1 AND key = $2', [namespace, key]);
      return;
    }
    await this.#db.query(
      `INSERT INTO state (namespace, key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      [namespace, key, JSON.stringify(value), at, by],
    );
  }
}
