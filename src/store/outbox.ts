import type { DatabaseSync, StatementSync } from 'node:sqlite';

export interface OutboxItem {
  eventId: string;
  routingKey: string;
  createdAt: string;
  attempts: number;
  lastError: string | null;
}

/** Events waiting to be published; marked sent only when the broker confirmed them. */
export class OutboxTable {
  readonly #add: StatementSync;
  readonly #pending: StatementSync;
  readonly #sent: StatementSync;
  readonly #failed: StatementSync;
  readonly #countPending: StatementSync;

  constructor(db: DatabaseSync) {
    this.#add = db.prepare('INSERT INTO outbox (event_id, routing_key, created_at) VALUES (?, ?, ?) ON CONFLICT (event_id) DO NOTHING');
    this.#pending = db.prepare(`SELECT event_id, routing_key, created_at, attempts, last_error FROM outbox
      WHERE sent_at IS NULL ORDER BY created_at, rowid LIMIT ?`);
    this.#sent = db.prepare('UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE event_id = ?');
    this.#failed = db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE event_id = ?');
    this.#countPending = db.prepare('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL');
  }

  add(eventId: string, routingKey: string, at: string): void {
    this.#add.run(eventId, routingKey, at);
  }

  pending(limit: number): OutboxItem[] {
    return (this.#pending.all(limit) as Array<Record<string, unknown>>).map((row) => ({
      eventId: row.event_id as string,
      routingKey: row.routing_key as string,
      createdAt: row.created_at as string,
      attempts: row.attempts as number,
      lastError: row.last_error as string | null,
    }));
  }

  markSent(eventId: string, at: string): void {
    this.#sent.run(at, eventId);
  }

  markFailed(eventId: string, error: string): void {
    this.#failed.run(error, eventId);
  }

  countPending(): number {
    return (this.#countPending.get() as { n: number }).n;
  }
}
