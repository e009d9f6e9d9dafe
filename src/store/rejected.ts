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

export type RejectedRow = [string, string, string | null, string | null, string | null, string, string | null, string, string, Uint8Array, number];

export interface StoredRejection extends Rejection {
  seq: number;
  /** Size of the body as received, in bytes; `raw` holds its first bytes only when `rawTruncated`. */
  rawSize: number;
  rawTruncated: boolean;
}

/** Bytes of a rejected body kept by default (`retention.rejectedRawBytes`). */
export const DEFAULT_REJECTED_RAW_BYTES = 65_536;

/**
 * Messages that could not become events, kept with the reason and their raw bytes, up to
 * `rawBytesKept` of them (enough to see what was sent; an 8 MB body over the size limit is not kept
 * whole): nothing is dropped silently.
 */
export class RejectedTable {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #rawBytesKept: number;

  constructor(db: DatabaseSync, options: { rawBytesKept?: number | undefined } = {}) {
    this.#db = db;
    this.#rawBytesKept = options.rawBytesKept ?? DEFAULT_REJECTED_RAW_BYTES;
    this.#insert = db.prepare(`INSERT INTO rejected (received_at, transport, topic, message_id, publisher, reason, field, detail, headers, raw, raw_size)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  insert(r: Rejection): void {
    this.insertRow(this.row(r));
  }

  /** A rejection's row (its body cut to the bytes kept), in the insert's column order: plain values, so another thread can write them. */
  row(r: Rejection): RejectedRow {
    const kept = r.raw.byteLength > this.#rawBytesKept ? r.raw.subarray(0, this.#rawBytesKept) : r.raw;
    return [r.receivedAt, r.transport, r.topic, r.messageId, r.publisher, r.reason, r.field, r.detail, JSON.stringify(r.headers), kept, r.raw.byteLength];
  }

  insertRow(row: RejectedRow): void {
    this.#insert.run(...row);
  }

  list(limit = 100): StoredRejection[] {
    const rows = this.#db.prepare('SELECT * FROM rejected ORDER BY seq DESC LIMIT ?').all(limit) as Array<Record<string, unknown>>;
    return rows.map((row) => storedRejection(row, row.raw as Uint8Array));
  }

  count(): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM rejected').get() as { n: number }).n;
  }
}

/** A rejected row as read (either backend), its body bytes given as the backend returns them. */
export function storedRejection(row: Record<string, unknown>, raw: Uint8Array): StoredRejection {
  // Rows stored before sizes were recorded hold their whole body.
  const rawSize = (row.raw_size as number | null) ?? raw.byteLength;
  return {
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
    raw,
    rawSize,
    rawTruncated: rawSize > raw.byteLength,
  };
}
