import type { OutboxItem } from '../outbox.ts';
import type { PgDatabase } from './database.ts';
import type { JobLease } from './jobs.ts';
import { wake, WakeChannel } from './notify.ts';

interface OutboxRow {
  event_id: string;
  routing_key: string;
  created_at: string;
  attempts: number;
  last_error: string | null;
}

const toItem = (row: OutboxRow): OutboxItem => ({
  eventId: row.event_id,
  routingKey: row.routing_key,
  createdAt: row.created_at,
  attempts: row.attempts,
  lastError: row.last_error,
});

/**
 * Events waiting to be published, shared by the replicas. A replica publishes only rows it claimed
 * (`claim`): each row is out with one replica at a time, until the broker confirms it (`markSent`)
 * or the publish fails (`release`), or the claim's lease runs out (the replica died: another claims
 * it). Publication stays at least once (a replica may die between the confirm and `markSent`);
 * consumers dedupe by event id, as relengd's own inbox does. `pending` claims for this store's
 * replica (`replica`), so the outbox relay publishes only what this replica holds.
 */
export class PgOutboxTable {
  readonly #db: PgDatabase;
  readonly #replica: JobLease;

  constructor(db: PgDatabase, replica: JobLease) {
    this.#db = db;
    this.#replica = replica;
  }

  async add(eventId: string, routingKey: string, at: string): Promise<void> {
    // A new row wakes the replicas' publishers (on commit), in the same round trip.
    await this.#db.query(
      `WITH inserted AS (INSERT INTO outbox (event_id, routing_key, created_at) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING RETURNING event_id)
       SELECT pg_notify('${WakeChannel.outbox}', '') FROM inserted`,
      [eventId, routingKey, at],
    );
  }

  /**
   * The rows this replica is to publish, oldest first: up to `limit` unsent rows no other replica
   * holds unexpired, claimed (again) for this replica. Rows it claimed earlier and has not sent come
   * back, as unsent rows do from the SQLite store's `pending`: a publish that failed or was cut short
   * is tried again.
   */
  pending(limit: number): Promise<OutboxItem[]> {
    return this.#claim(this.#replica.replicaId, limit, this.#replica.leaseMs, true);
  }

  /** Unsent rows, oldest first, whoever holds them (status, tests); claims nothing. */
  async unsent(limit: number): Promise<OutboxItem[]> {
    const { rows } = await this.#db.query<OutboxRow>(
      'SELECT event_id, routing_key, created_at, attempts, last_error FROM outbox WHERE sent_at IS NULL ORDER BY created_at, seq LIMIT $1',
      [limit],
    );
    return rows.map(toItem);
  }

  /**
   * Claims up to `limit` unsent rows, oldest first, that no replica holds (or whose holder's lease
   * expired) for `replicaId` until `leaseMs` from now on the server's clock. `SKIP LOCKED`: two
   * replicas claiming at once take different rows instead of waiting on each other.
   */
  claim(replicaId: string, limit: number, leaseMs: number): Promise<OutboxItem[]> {
    return this.#claim(replicaId, limit, leaseMs, false);
  }

  async #claim(replicaId: string, limit: number, leaseMs: number, includeHeld: boolean): Promise<OutboxItem[]> {
    const { rows } = await this.#db.query<OutboxRow>(
      `UPDATE outbox o SET claimed_by = $1, claim_expires_at = now() + make_interval(secs => $2::float8 / 1000)
       FROM (SELECT event_id FROM outbox
             WHERE sent_at IS NULL AND (claimed_by IS NULL OR claim_expires_at < now() ${includeHeld ? 'OR claimed_by = $1' : ''})
             ORDER BY created_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED) c
       WHERE o.event_id = c.event_id
       RETURNING o.event_id, o.routing_key, o.created_at, o.attempts, o.last_error, o.seq`,
      [replicaId, leaseMs, limit],
    );
    // RETURNING follows no order: give the rows back oldest first, as `pending` does.
    return (rows as Array<OutboxRow & { seq: number }>).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.seq - b.seq).map(toItem);
  }

  /** The broker confirmed the row: sent, claim cleared. Idempotent (any replica's confirm of the event counts). */
  async markSent(eventId: string, at: string): Promise<void> {
    await this.#db.query(
      'UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claim_expires_at = NULL WHERE event_id = $2 AND sent_at IS NULL',
      [at, eventId],
    );
  }

  /**
   * Records a failed publish (the SQLite store's method) and frees the row when this replica holds
   * it, as `release` does: a replica whose broker is down does not keep, and renew, rows another
   * replica could publish.
   */
  async markFailed(eventId: string, error: string): Promise<void> {
    const { rows } = await this.#db.query<{ freed: boolean }>(
      `UPDATE outbox o SET attempts = o.attempts + 1, last_error = $1,
         claimed_by = CASE WHEN o.claimed_by = $3 THEN NULL ELSE o.claimed_by END,
         claim_expires_at = CASE WHEN o.claimed_by = $3 THEN NULL ELSE o.claim_expires_at END
       FROM (SELECT event_id, claimed_by FROM outbox WHERE event_id = $2 FOR UPDATE) old
       WHERE o.event_id = old.event_id
       RETURNING old.claimed_by = $3 AND o.sent_at IS NULL AS freed`,
      [error, eventId, this.#replica.replicaId],
    );
    if (rows[0]?.freed === true) await wake(this.#db, WakeChannel.outbox);
  }

  /**
   * A publish by `replicaId` failed: counts the attempt, keeps the error, and frees the row for any
   * replica's next claim. Only the holder releases: a replica whose lease ran out frees nothing.
   * @returns whether `replicaId` still held the row.
   */
  async release(eventId: string, replicaId: string, error: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `UPDATE outbox SET attempts = attempts + 1, last_error = $1, claimed_by = NULL, claim_expires_at = NULL
       WHERE event_id = $2 AND claimed_by = $3 AND sent_at IS NULL`,
      [error, eventId, replicaId],
    );
    if (rowCount === 1) await wake(this.#db, WakeChannel.outbox);
    return rowCount === 1;
  }

  /** Extends the lease on every unsent row `replicaId` holds (a long publish). @returns how many. */
  async renewClaims(replicaId: string, leaseMs: number): Promise<number> {
    const { rowCount } = await this.#db.query(
      `UPDATE outbox SET claim_expires_at = now() + make_interval(secs => $2::float8 / 1000)
       WHERE event_id IN (SELECT event_id FROM outbox WHERE claimed_by = $1 AND sent_at IS NULL AND claim_expires_at >= now() FOR UPDATE SKIP LOCKED)`,
      [replicaId, leaseMs],
    );
    return rowCount;
  }

  async countPending(): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL');
    return rows[0]?.n ?? 0;
  }
}
