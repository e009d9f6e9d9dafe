import type { DaemonRecord } from '../daemons.ts';
import type { PgDatabase } from './database.ts';

/** The daemons using this store and their heartbeats, on PostgreSQL: the SQLite store's DaemonsTable, async. */
export class PgDaemonsTable {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async register(d: DaemonRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO daemons (id, host, pid, url, version, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, heartbeat_at = excluded.heartbeat_at`,
      [d.id, d.host, d.pid, d.url, d.version, d.startedAt, d.heartbeatAt],
    );
  }

  async beat(id: string, at: string): Promise<void> {
    await this.#db.query('UPDATE daemons SET heartbeat_at = $1 WHERE id = $2', [at, id]);
  }

  async remove(id: string): Promise<void> {
    await this.#db.query('DELETE FROM daemons WHERE id = $1', [id]);
  }

  /** Removes the daemons whose last heartbeat is older than `cutoff` (ISO time, compared as the SQLite store does). @returns how many */
  async forgetSilentSince(cutoff: string): Promise<number> {
    // Byte order ("C"): ISO times sort as text only so, whatever the database's collation.
    return (await this.#db.query('DELETE FROM daemons WHERE heartbeat_at < $1 COLLATE "C"', [cutoff])).rowCount ?? 0;
  }

  /** Newest heartbeat first. */
  async list(): Promise<DaemonRecord[]> {
    const { rows } = await this.#db.query<{ id: string; host: string; pid: number; url: string | null; version: string; started_at: string; heartbeat_at: string }>(
      'SELECT id, host, pid, url, version, started_at, heartbeat_at FROM daemons ORDER BY heartbeat_at DESC',
    );
    return rows.map((r) => ({ id: r.id, host: r.host, pid: r.pid, url: r.url, version: r.version, startedAt: r.started_at, heartbeatAt: r.heartbeat_at }));
  }
}
