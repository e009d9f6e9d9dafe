import { DEFAULT_REJECTED_RAW_BYTES, storedRejection, type RejectedRow, type Rejection, type StoredRejection } from '../rejected.ts';
import type { PgDatabase } from './database.ts';

/** Messages that could not become events, on PostgreSQL: the SQLite store's RejectedTable, async. */
export class PgRejectedTable {
  readonly #db: PgDatabase;
  readonly #rawBytesKept: number;

  constructor(db: PgDatabase, options: { rawBytesKept?: number | undefined } = {}) {
    this.#db = db;
    this.#rawBytesKept = options.rawBytesKept ?? DEFAULT_REJECTED_RAW_BYTES;
  }

  async insert(r: Rejection): Promise<void> {
    await this.insertRow(this.row(r));
  }

  /** A rejection's row (its body cut to the bytes kept), in the insert's column order: the SQLite store's row, cut the same way. */
  row(r: Rejection): RejectedRow {
    const kept = r.raw.byteLength > this.#rawBytesKept ? r.raw.subarray(0, this.#rawBytesKept) : r.raw;
    return [r.receivedAt, r.transport, r.topic, r.messageId, r.publisher, r.reason, r.field, r.detail, JSON.stringify(r.headers), kept, r.raw.byteLength];
  }

  async insertRow(row: RejectedRow): Promise<void> {
    await this.#db.query(
      `INSERT INTO rejected (received_at, transport, topic, message_id, publisher, reason, field, detail, headers, raw, raw_size)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      row,
    );
  }

  async list(limit = 100): Promise<StoredRejection[]> {
    const { rows } = await this.#db.query<Record<string, unknown>>('SELECT * FROM rejected ORDER BY seq DESC LIMIT $1', [limit]);
    return rows.map((row) => storedRejection(row, new Uint8Array(row.raw as Buffer)));
  }

  async count(): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>('SELECT count(*) AS n FROM rejected');
    return rows[0]?.n ?? 0;
  }
}
