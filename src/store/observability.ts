import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** A stored event's data and times, for counting it into a metric. */
export interface ObservedEvent {
  seq: number;
  time: string;
  data: unknown;
}

export interface ObservedJobStart {
  id: string;
  kind: string;
  causeEventId: string;
  startedAt: string;
}

export interface ObservedJobRun {
  id: string;
  kind: string;
  startedAt: string;
  finishedAt: string;
}

/** How far back a job's cause is followed to the message that started it (listener hops, not jobs). */
const MAX_CAUSE_HOPS = 16;

/**
 * The reads behind /metrics and the silence watch: each walks an index or a key range, so a scrape
 * reads what is new since the last one (counters are kept by the reader and never go down when
 * retention prunes) and a silence check reads one row per topic.
 */
export class ObservabilityReads {
  readonly #eventsAfter: StatementSync;
  readonly #rejectedAfter: StatementSync;
  readonly #jobsStarted: StatementSync;
  readonly #jobsFinished: StatementSync;
  readonly #causeOf: StatementSync;
  readonly #oldestPending: StatementSync;
  readonly #lastInbound: StatementSync;

  constructor(db: DatabaseSync) {
    this.#eventsAfter = db.prepare('SELECT seq, time, data FROM events WHERE topic = ? AND seq > ? ORDER BY seq');
    this.#rejectedAfter = db.prepare('SELECT seq, transport, reason FROM rejected WHERE seq > ? ORDER BY seq');
    // A job's first start only: a re-run after a crash or an operator's retry is not the message's latency.
    this.#jobsStarted = db.prepare('SELECT id, kind, cause_event_id, started_at FROM jobs WHERE started_at >= ? AND attempts = 1 AND retries = 0');
    // A run cut short by a shutdown (interrupted) is run again, and counted when that run ends.
    this.#jobsFinished = db.prepare(`SELECT id, kind, started_at, finished_at FROM jobs WHERE finished_at >= ? AND started_at IS NOT NULL AND state IN ('succeeded', 'failed', 'cancelled')`);
    this.#causeOf = db.prepare('SELECT origin, received_at, causation_id FROM events WHERE id = ?');
    this.#oldestPending = db.prepare('SELECT min(created_at) AS oldest FROM outbox WHERE sent_at IS NULL');
    // The (topic, time) index finds the newest message of a topic without reading its others.
    this.#lastInbound = db.prepare(`SELECT received_at FROM events WHERE topic = ? AND origin = 'inbound' ORDER BY time DESC LIMIT 1`);
  }

  /** Events of a (bare) topic stored after `afterSeq`, oldest first; a row whose data cannot be read is skipped. */
  eventsAfter(topic: string, afterSeq: number): ObservedEvent[] {
    const rows = this.#eventsAfter.all(topic, afterSeq) as Array<{ seq: number; time: string; data: string }>;
    return rows.flatMap((row) => {
      try {
        return [{ seq: row.seq, time: row.time, data: JSON.parse(row.data) as unknown }];
      } catch {
        return [];
      }
    });
  }

  rejectedAfter(afterSeq: number): Array<{ seq: number; transport: string; reason: string }> {
    return this.#rejectedAfter.all(afterSeq) as Array<{ seq: number; transport: string; reason: string }>;
  }

  /** Jobs whose first run started at or after `since` (ISO time). */
  jobsStartedSince(since: string): ObservedJobStart[] {
    return (this.#jobsStarted.all(since) as Array<Record<string, string>>).map((r) => ({ id: r.id!, kind: r.kind!, causeEventId: r.cause_event_id!, startedAt: r.started_at! }));
  }

  /** Runs that ended at or after `since` (ISO time); a job retried by an operator ends once per run. */
  jobsFinishedSince(since: string): ObservedJobRun[] {
    return (this.#jobsFinished.all(since) as Array<Record<string, string>>).map((r) => ({ id: r.id!, kind: r.kind!, startedAt: r.started_at!, finishedAt: r.finished_at! }));
  }

  /**
   * When the message that led to event `eventId` was accepted (stored): the event itself when it
   * came in, else up its causes through what listeners emitted. Null when the chain passes through
   * a job's result (a job's cause is then a job, not a message) or its events were pruned.
   */
  acceptedAtOf(eventId: string): string | null {
    let id: string | null = eventId;
    for (let hop = 0; id !== null && hop < MAX_CAUSE_HOPS; hop++) {
      const row = this.#causeOf.get(id) as { origin: string; received_at: string; causation_id: string | null } | undefined;
      if (!row) return null;
      if (row.origin === 'inbound') return row.received_at;
      id = row.causation_id;
    }
    return null;
  }

  /** When the oldest event still waiting for the broker's confirm was queued, or null when none waits. */
  oldestPendingOutbox(): string | null {
    return (this.#oldestPending.get() as { oldest: string | null }).oldest;
  }

  /** When the newest message of a (bare) topic was stored, or null when none is. */
  lastInbound(topic: string): string | null {
    return (this.#lastInbound.get(topic) as { received_at: string } | undefined)?.received_at ?? null;
  }
}
