import type { ObservabilityApi } from '../api.ts';
import type { ObservedEvent, ObservedJobRun, ObservedJobStart } from '../observability.ts';
import type { PgDatabase } from './database.ts';

/** How far back a job's cause is followed to the message that started it: the SQLite reads' bound (../observability.ts). */
const MAX_CAUSE_HOPS = 16;

/**
 * The reads behind /metrics and the silence watch on PostgreSQL: the SQLite store's
 * ObservabilityReads (../observability.ts), same rows and meanings, async.
 */
export class PgObservabilityReads implements ObservabilityApi {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  /** Events of a (bare) topic stored after `afterSeq`, oldest first; a row whose data cannot be read is skipped. */
  async eventsAfter(topic: string, afterSeq: number): Promise<ObservedEvent[]> {
    const { rows } = await this.#db.query<{ seq: number; time: string; data: string }>('SELECT seq, time, data FROM events WHERE topic = $1 AND seq > $2 ORDER BY seq', [topic, afterSeq]);
    return rows.flatMap((row) => {
      try {
        return [{ seq: row.seq, time: row.time, data: JSON.parse(row.data) as unknown }];
      } catch {
        return [];
      }
    });
  }

  async rejectedAfter(afterSeq: number): Promise<Array<{ seq: number; transport: string; reason: string }>> {
    const { rows } = await this.#db.query<{ seq: number; transport: string; reason: string }>('SELECT seq, transport, reason FROM rejected WHERE seq > $1 ORDER BY seq', [afterSeq]);
    return rows;
  }

  /** Jobs whose first run started at or after `since` (ISO time): not a re-run after a crash, a reclaim or an operator's retry. */
  async jobsStartedSince(since: string): Promise<ObservedJobStart[]> {
    const { rows } = await this.#db.query<Record<string, string>>('SELECT id, kind, cause_event_id, started_at FROM jobs WHERE started_at >= $1 AND attempts = 1 AND retries = 0', [since]);
    return rows.map((r) => ({ id: r.id!, kind: r.kind!, causeEventId: r.cause_event_id!, startedAt: r.started_at! }));
  }

  /** Runs that ended at or after `since` (ISO time); one cut short by a shutdown (interrupted) counts when its re-run ends. */
  async jobsFinishedSince(since: string): Promise<ObservedJobRun[]> {
    const { rows } = await this.#db.query<Record<string, string>>(
      `SELECT id, kind, started_at, finished_at FROM jobs WHERE finished_at >= $1 AND started_at IS NOT NULL AND state IN ('succeeded', 'failed', 'cancelled')`,
      [since],
    );
    return rows.map((r) => ({ id: r.id!, kind: r.kind!, startedAt: r.started_at!, finishedAt: r.finished_at! }));
  }

  /**
   * When the message that led to event `eventId` was accepted: the SQLite reads' walk up the
   * causes (at most MAX_CAUSE_HOPS rows, stopping at the first inbound one) in one round trip.
   * Null when the chain ends before an inbound event (a job's result, or pruned events).
   */
  async acceptedAtOf(eventId: string): Promise<string | null> {
    const { rows } = await this.#db.query<{ received_at: string }>(
      `WITH RECURSIVE chain (hop, origin, received_at, causation_id) AS (
         SELECT 1, origin, received_at, causation_id FROM events WHERE id = $1
         UNION ALL
         SELECT c.hop + 1, e.origin, e.received_at, e.causation_id FROM chain c JOIN events e ON e.id = c.causation_id
         WHERE c.origin <> 'inbound' AND c.hop < $2)
       SELECT received_at FROM chain WHERE origin = 'inbound' ORDER BY hop LIMIT 1`,
      [eventId, MAX_CAUSE_HOPS],
    );
    return rows[0]?.received_at ?? null;
  }

  /** When the oldest event still waiting for the broker's confirm was queued, or null when none waits. */
  async oldestPendingOutbox(): Promise<string | null> {
    const { rows } = await this.#db.query<{ oldest: string | null }>('SELECT min(created_at) AS oldest FROM outbox WHERE sent_at IS NULL');
    return rows[0]?.oldest ?? null;
  }

  /** When the newest message of a (bare) topic was stored, or null when none is. */
  async lastInbound(topic: string): Promise<string | null> {
    const { rows } = await this.#db.query<{ received_at: string }>(
      `SELECT received_at FROM events WHERE topic = $1 AND origin = 'inbound' ORDER BY time DESC, seq DESC LIMIT 1`,
      [topic],
    );
    return rows[0]?.received_at ?? null;
  }
}
