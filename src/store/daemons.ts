import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** A running daemon, as it registers itself in the store it uses. */
export interface DaemonRecord {
  id: string;
  host: string;
  pid: number;
  /** Where its HTTP server answers; null when it serves none. */
  url: string | null;
  version: string;
  startedAt: string;
  heartbeatAt: string;
}

/**
 * How long a daemon (or, on PostgreSQL, a replica) that stopped beating without unregistering stays
 * listed: a day to see when and where it died, then a live one forgets it, so that every crash of
 * a pod does not leave a row for good.
 */
export const FORGET_SILENT_AFTER_MS = 24 * 60 * 60 * 1000;
/** How often a live daemon or replica forgets those (and once as it starts). */
export const FORGET_EVERY_MS = 60 * 60 * 1000;

/**
 * The daemons using this store, each with its last heartbeat: how a CLI verb on the same machine
 * tells that relengd is up (status, `promote --wait`) without knowing its address. A clean stop
 * removes the row; a killed daemon's row stays and goes stale, until a live daemon forgets it.
 */
export class DaemonsTable {
  readonly #upsert: StatementSync;
  readonly #beat: StatementSync;
  readonly #remove: StatementSync;
  readonly #list: StatementSync;
  readonly #forget: StatementSync;

  constructor(db: DatabaseSync) {
    this.#upsert = db.prepare(`INSERT INTO daemons (id, host, pid, url, version, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET url = excluded.url, heartbeat_at = excluded.heartbeat_at`);
    this.#beat = db.prepare('UPDATE daemons SET heartbeat_at = ? WHERE id = ?');
    this.#remove = db.prepare('DELETE FROM daemons WHERE id = ?');
    this.#forget = db.prepare('DELETE FROM daemons WHERE heartbeat_at < ?');
    this.#list = db.prepare('SELECT id, host, pid, url, version, started_at, heartbeat_at FROM daemons ORDER BY heartbeat_at DESC');
  }

  register(d: DaemonRecord): void {
    this.#upsert.run(d.id, d.host, d.pid, d.url, d.version, d.startedAt, d.heartbeatAt);
  }

  beat(id: string, at: string): void {
    this.#beat.run(at, id);
  }

  remove(id: string): void {
    this.#remove.run(id);
  }

  /** Removes the daemons whose last heartbeat is older than `cutoff` (ISO time). @returns how many */
  forgetSilentSince(cutoff: string): number {
    return Number(this.#forget.run(cutoff).changes);
  }

  /** Newest heartbeat first. */
  list(): DaemonRecord[] {
    return (this.#list.all() as Array<Record<string, string | number | null>>).map((r) => ({
      id: String(r.id),
      host: String(r.host),
      pid: Number(r.pid),
      url: r.url === null ? null : String(r.url),
      version: String(r.version),
      startedAt: String(r.started_at),
      heartbeatAt: String(r.heartbeat_at),
    }));
  }
}
