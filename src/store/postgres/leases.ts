import { LeaseLostError } from '../failures.ts';
import type { PgDatabase } from './database.ts';

/** The dispatcher's lease: one replica at a time dispatches stored events to the listeners. */
export const DISPATCHER_LEASE = 'dispatcher';

export { LeaseLostError };

export interface LeaseRecord {
  name: string;
  holder: string;
  acquiredAt: Date;
  expiresAt: Date;
  expired: boolean;
}

const until = (param: string): string => `now() + make_interval(secs => ${param}::float8 / 1000)`;

/**
 * Named leases on the server's clock: at most one holder per name; a holder renews by acquiring
 * again before it expires; once expired, anyone may take it.
 *
 * Dispatch uses one (DISPATCHER_LEASE) rather than serialising per state key: listeners read state
 * under keys known only while they run (a compose's join, a group's versions, a promotion's
 * gates span several namespaces), and they must see events in store order (a join's outcome, and
 * so the ids replay re-derives, depend on which arrival came first). Per-key locks would need each
 * listener's keys up front, or row locks taken mid-listener in an order nobody controls
 * (deadlocks). One dispatcher keeps the single-process semantics exactly, and costs little:
 * dispatch is pure and fast (effects are jobs), while intake and jobs, the slow parts, still run on
 * every replica. When the dispatching replica dies, its lease expires and another takes over from
 * the oldest pending event. Each dispatch transaction calls `assertHeld`, which locks the lease
 * row: a replica whose lease lapsed commits nothing, and a taker waits for a batch in flight.
 */
export class PgLeasesTable {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  /** Takes `name` for `holder` (or renews it, when it already holds it) for `ttlMs`. @returns whether `holder` holds it now. */
  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, now(), ${until('$3')})
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
         acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
       WHERE leases.holder = excluded.holder OR leases.expires_at < now()`,
      [name, holder, ttlMs],
    );
    return rowCount === 1;
  }

  /** Extends every lease `holder` holds unexpired by `ttlMs` from now (its heartbeat). @returns their names. */
  async renewHeld(holder: string, ttlMs: number): Promise<string[]> {
    // Skips a lease a transaction holds: the dispatcher's own batch keeps its turn locked (assertHeld)
    // for as long as the batch runs, and took the turn afresh at its start. Waiting for it held up
    // the job renewals after it until job leases lapsed under a long batch.
    const { rows } = await this.#db.query<{ name: string }>(
      `UPDATE leases SET expires_at = ${until('$2')}
       WHERE name IN (SELECT name FROM leases WHERE holder = $1 AND expires_at >= now() FOR UPDATE SKIP LOCKED) RETURNING name`,
      [holder, ttlMs],
    );
    return rows.map((r) => r.name).sort();
  }

  /** Gives `name` up if `holder` holds it. @returns whether it did. */
  async release(name: string, holder: string): Promise<boolean> {
    return (await this.#db.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder])).rowCount === 1;
  }

  /**
   * Inside a transaction: checks `holder` holds `name` unexpired and keeps it locked (FOR SHARE)
   * until the transaction ends, so nobody takes it over while this transaction's writes are pending.
   * @throws LeaseLostError
   */
  async assertHeld(name: string, holder: string): Promise<void> {
    if (!this.#db.inTransaction) throw new TypeError('assertHeld fences a transaction: call it inside one');
    const { rowCount } = await this.#db.query('SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND expires_at > now() FOR SHARE', [name, holder]);
    if (rowCount !== 1) throw new LeaseLostError(name, holder);
  }

  async get(name: string): Promise<LeaseRecord | undefined> {
    const { rows } = await this.#db.query<Row>(`SELECT name, holder, acquired_at, expires_at, expires_at < now() AS expired FROM leases WHERE name = $1`, [name]);
    return rows[0] && toLease(rows[0]);
  }

  async list(): Promise<LeaseRecord[]> {
    const { rows } = await this.#db.query<Row>(`SELECT name, holder, acquired_at, expires_at, expires_at < now() AS expired FROM leases ORDER BY name`);
    return rows.map(toLease);
  }
}

interface Row {
  name: string;
  holder: string;
  acquired_at: Date;
  expires_at: Date;
  expired: boolean;
}

const toLease = (r: Row): LeaseRecord => ({ name: r.name, holder: r.holder, acquiredAt: r.acquired_at, expiresAt: r.expires_at, expired: r.expired });
