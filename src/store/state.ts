import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** Listener state: small JSON documents by (namespace, key), e.g. ('compose-queue', ref). */
export class StateTable {
  readonly #get: StatementSync;
  readonly #list: StatementSync;
  readonly #put: StatementSync;
  readonly #delete: StatementSync;

  constructor(db: DatabaseSync) {
    this.#get = db.prepare('SELECT value FROM state WHERE namespace = ? AND key = ?');
    this.#list = db.prepare('SELECT key, value FROM state WHERE namespace = ? ORDER BY key');
    this.#put = db.prepare(`INSERT INTO state (namespace, key, value, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`);
    this.#delete = db.prepare('DELETE FROM state WHERE namespace = ? AND key = ?');
  }

  get(namespace: string, key: string): unknown {
    const row = this.#get.get(namespace, key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
  }

  list(namespace: string): Array<{ key: string; value: unknown }> {
    return (this.#list.all(namespace) as Array<{ key: string; value: string }>).map((r) => ({ key: r.key, value: JSON.parse(r.value) as unknown }));
  }

  /** Sets a value; `null` deletes the key. */
  put(namespace: string, key: string, value: unknown, at: string, by: string): void {
    if (value === null) this.#delete.run(namespace, key);
    else this.#put.run(namespace, key, JSON.stringify(value), at, by);
  }
}
