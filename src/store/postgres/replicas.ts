import type { PgDatabase } from './database.ts';

/** A relengd process using the shared store, as `status` and `/metrics` show it. */
export interface ReplicaRecord {
  id: string;
  host: string;
  pid: number;
  startedAt: Date;
  heartbeatAt: Date;
  /** Milliseconds since its last heartbeat, on the server's clock (the one its leases expire by). */
  heartbeatAgeMs: number;
  /** What it holds now: named leases (the dispatcher's), running jobs, outbox rows out for publishing. */
  leases: { named: string[]; jobs: string[]; outbox: number };
}

/**
 * The replicas sharing this database. Heartbeats and leases use the server's clock, so replicas on
 * machines whose clocks disagree still agree on who is late. The leases a replica holds are read
 * from the jobs, outbox and leases tables when listed, never copied here: a copy could disagree.
 */
export class PgReplicasTable {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  /** Registers (or re-registers, after a restart under the same id) a replica. */
  async register(replica: { id: string; host: string; pid: number }): Promise<void> {
    await this.#db.query(
      `INSERT INTO replicas (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, now(), now())
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
      [replica.id, replica.host, replica.pid],
    );
  }

  /** Records a heartbeat. @returns false when the replica is not registered (removed as gone: register again). */
  async heartbeat(id: string): Promise<boolean> {
    return (await this.#db.query('UPDATE replicas SET heartbeat_at = now() WHERE id = $1', [id])).rowCount === 1;
  }

  /**
   * A clean stop: removes the replica and hands over what it holds at once instead of after its
   * leases expire (named leases released, outbox claims freed, running jobs' leases ended).
   */
  async remove(id: string): Promise<void> {
    await this.#db.transaction(async () => {
      await this.#db.query('DELETE FROM leases WHERE holder = $1', [id]);
      await this.#db.query('UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = $1 AND sent_at IS NULL', [id]);
      await this.#db.query(`UPDATE jobs SET lease_expires_at = now() - interval '1 millisecond' WHERE claimed_by = $1 AND state = 'running'`, [id]);
      await this.#db.query('DELETE FROM replicas WHERE id = $1', [id]);
    });
  }

  /**
   * Removes the replicas silent for longer than `ms` (on the server's clock). Their leases lapsed
   * long before, and their jobs were queued again; one that comes back registers again. Rows another
   * transaction holds are left for the next time, as renewals never wait for a lock.
   * @returns how many
   */
  async forgetSilentFor(ms: number): Promise<number> {
    const { rowCount } = await this.#db.query(
      `DELETE FROM replicas WHERE id IN (
         SELECT id FROM replicas WHERE heartbeat_at < now() - $1 * interval '1 millisecond' FOR UPDATE SKIP LOCKED)`,
      [ms],
    );
    return rowCount ?? 0;
  }

  /** Every registered replica, newest heartbeat first, with the leases it holds unexpired. */
  async list(): Promise<ReplicaRecord[]> {
    const { rows } = await this.#db.query<{
      id: string;
      host: string;
      pid: number;
      started_at: Date;
      heartbeat_at: Date;
      age_ms: number;
      named: string[];
      jobs: string[];
      outbox: number;
    }>(
      `SELECT r.id, r.host, r.pid, r.started_at, r.heartbeat_at,
         (extract(epoch FROM now() - r.heartbeat_at) * 1000)::float8 AS age_ms,
         ARRAY(SELECT name FROM leases l WHERE l.holder = r.id AND l.expires_at >= now() ORDER BY name) AS named,
         ARRAY(SELECT id FROM jobs j WHERE j.claimed_by = r.id AND j.state = 'running' AND j.lease_expires_at >= now() ORDER BY id) AS jobs,
         (SELECT count(*) FROM outbox o WHERE o.claimed_by = r.id AND o.sent_at IS NULL AND o.claim_expires_at >= now()) AS outbox
       FROM replicas r ORDER BY r.heartbeat_at DESC, r.id`,
    );
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      startedAt: r.started_at,
      heartbeatAt: r.heartbeat_at,
      heartbeatAgeMs: Math.max(0, r.age_ms),
      leases: { named: r.named, jobs: r.jobs, outbox: r.outbox },
    }));
  }
}
