import type { DatabaseSync, StatementSync } from 'node:sqlite';

export interface Rejection {
  receivedAt: string;
  transport: string;
  topic: string | null;
  messageId: string | null;
  publisher: string | null;
  reason: string;
  field: string | null;
  detail: string;
  headers: Record<string, string>;
  raw: Uint8Array;
}

export interface StoredRejection extends Rejection {
  seq: number;
}

/** Messages that could not become events, kept with their raw bytes and the reason: nothing is dropped silently. */
export class RejectedTable {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT INTO rejected (received_at, transport, topic, message_id, publisher, reason, field, detail, headers, raw)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  insert(r: Rejection): void {
    this.#insert.run(r.receivedAt, r.transport, r.topic, r.messageId, r.publisher, r.reason, r.field, r.detail, JSON.stringify(r.headers), r.raw);
  }

  list(limit = 100): StoredRejection[] {
    const rows = this.#db.prepare('SELECT * FROM rejected ORDER BY seq DESC LIMIT ?').all(limit) as Array<Record<string, unknown>>;
    return rows.map((row) => ({
      seq: row.seq as number,
      receivedAt: row.received_at as string,
      transport: row.transport as string,
      topic: row.topic as string | null,
      messageId: row.message_id as string | null,
      publisher: row.publisher as string | null,
      reason: row.reason as string,
      field: row.field as string | null,
      detail: row.detail as string,
      headers: JSON.parse(row.headers as string) as Record<string, string>,
      raw: row.raw as Uint8Array,
    }));
  }

  count(): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM rejected').get() as { n: number }).n;
  }
}
