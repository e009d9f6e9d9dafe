import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { Envelope } from '../events/envelope.ts';

export type EventOrigin = 'inbound' | 'emitted';
export type DispatchState = 'pending' | 'done' | 'failed';

/** An event row: the envelope plus what the store knows about it. */
export interface StoredEvent {
  seq: number;
  envelope: Envelope;
  origin: EventOrigin;
  transport: string;
  receivedAt: string;
  dispatchState: DispatchState;
  dispatchAttempts: number;
  dispatchError: string | null;
  /** Set when the row's data or headers cannot be read back (its data is then null): parked, never fatal. */
  unreadable?: string | undefined;
}

/** An event as the CLI's `--json` and the HTTP API show it: the envelope and how relengd holds it. */
export function eventView(e: StoredEvent): Record<string, unknown> {
  const { known: _known, ...envelope } = e.envelope;
  return { ...envelope, origin: e.origin, transport: e.transport, receivedAt: e.receivedAt, dispatch: e.dispatchState, dispatchError: e.dispatchError };
}

/** Whether the event's row could be read back and its data is an object (a JSON body). */
export function hasObjectData(e: StoredEvent): boolean {
  return e.unreadable === undefined && e.envelope.data !== null && typeof e.envelope.data === 'object';
}

/** An event's data as an object: `{}` when its row cannot be read or its data is not an object (one bad row never fails a read). */
export function dataOf(e: StoredEvent): Record<string, unknown> {
  return hasObjectData(e) ? (e.envelope.data as Record<string, unknown>) : {};
}

export interface EventQuery {
  /** AMQP-style pattern over the bare topic is applied by the caller; this is an exact topic or SQL prefix. */
  topic?: string | undefined;
  type?: string | undefined;
  /** Exact subject (a stream's ref, a schedule's key). */
  subject?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  correlationId?: string | undefined;
  ids?: readonly string[] | undefined;
  dispatchState?: DispatchState | undefined;
  /** Only events stored after this one (keyset paging, with order 'asc'). */
  afterSeq?: number | undefined;
  /** Only events stored before this one (keyset paging, newest first). */
  beforeSeq?: number | undefined;
  /** Only inbound or only emitted events. */
  origin?: EventOrigin | undefined;
  limit?: number | undefined;
  /** Newest first (the CLI's default) or oldest first (replay). */
  order?: 'asc' | 'desc' | undefined;
}

/** An events row as read, in either backend; `known` is 0/1 in SQLite, a boolean in PostgreSQL. */
export interface EventRow<Known = number> {
  seq: number;
  id: string;
  topic: string;
  prefix: string;
  type: string;
  source: string;
  subject: string | null;
  time: string;
  received_at: string;
  correlation_id: string;
  causation_id: string | null;
  publisher: string | null;
  origin: EventOrigin;
  transport: string;
  known: Known;
  headers: string;
  data: string;
  dispatch_state: DispatchState;
  dispatch_attempts: number;
  dispatch_error: string | null;
}

const COLUMNS = `seq, id, topic, prefix, type, source, subject, time, received_at, correlation_id, causation_id,
  publisher, origin, transport, known, headers, data, dispatch_state, dispatch_attempts, dispatch_error`;

export interface EventRowMeta {
  origin: EventOrigin;
  transport: string;
  receivedAt: string;
  raw?: Uint8Array | null;
  rawIsData?: boolean;
}

/** The values of an event's row, in the insert's column order: plain values, so another thread can write them. */
export type EventInsertRow = [string, string, string, string, string, string | null, string, string, string, string | null, string | null, string, string, number, string, string | Uint8Array, Uint8Array | null, number];

/**
 * An event's row. Serialising happens here, before any transaction: a value that cannot be
 * serialised fails this message alone.
 */
export function eventRow(envelope: Envelope, meta: EventRowMeta): EventInsertRow {
  // A body whose bytes are the data is kept once, as the data text (byte for byte): half the writes.
  const raw = meta.raw ?? null;
  const rawIsData = meta.rawIsData === true && raw !== null;
  return [
    envelope.id,
    envelope.topic,
    envelope.prefix,
    envelope.type,
    envelope.source,
    envelope.subject ?? null,
    envelope.time,
    meta.receivedAt,
    envelope.correlationid,
    envelope.causationid ?? null,
    envelope.publisher ?? null,
    meta.origin,
    meta.transport,
    envelope.known ? 1 : 0,
    JSON.stringify(envelope.headers),
    // The body's UTF-8 bytes become the data text through the insert's CAST (SQLite's text is
    // UTF-8): byte for byte, without decoding them into a string to have it encoded again.
    rawIsData ? raw : JSON.stringify(envelope.data),
    rawIsData ? null : raw,
    rawIsData ? 1 : 0,
  ];
}

/** The events table: the inbox (one row per message id) and everything relengd emitted. */
export class EventsTable {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #pending: StatementSync;
  readonly #markDone: StatementSync;
  readonly #markAttempt: StatementSync;
  readonly #byId: StatementSync;
  readonly #exists: StatementSync;
  readonly #count: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT INTO events (id, topic, prefix, type, source, subject, time, received_at,
        correlation_id, causation_id, publisher, origin, transport, known, headers, data, raw, raw_is_data)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?) ON CONFLICT (id) DO NOTHING`);
    this.#pending = db.prepare(`SELECT ${COLUMNS} FROM events WHERE dispatch_state = 'pending' ORDER BY seq LIMIT ?`);
    this.#markDone = db.prepare(`UPDATE events SET dispatch_state = 'done', dispatched_at = ?, dispatch_error = NULL,
      dispatch_attempts = dispatch_attempts + 1 WHERE seq = ?`);
    this.#markAttempt = db.prepare(`UPDATE events SET dispatch_state = ?, dispatch_error = ?,
      dispatch_attempts = dispatch_attempts + 1 WHERE seq = ?`);
    this.#byId = db.prepare(`SELECT ${COLUMNS} FROM events WHERE id = ?`);
    this.#exists = db.prepare('SELECT 1 FROM events WHERE id = ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM events');
  }

  /** Inserts an event unless its id is known (the inbox's duplicate check). Returns true when it was new. */
  insert(envelope: Envelope, meta: EventRowMeta): boolean {
    return this.insertRow(eventRow(envelope, meta));
  }

  /** Inserts a row made by {@link eventRow} (on this thread or another) unless its id is known. Returns true when it was new. */
  insertRow(row: EventInsertRow): boolean {
    return this.#insert.run(...row).changes === 1;
  }

  has(id: string): boolean {
    return this.#exists.get(id) !== undefined;
  }

  get(id: string): StoredEvent | undefined {
    const row = this.#byId.get(id) as EventRow | undefined;
    return row && toStored(row);
  }

  /** Oldest events not yet dispatched to the listeners. */
  pending(limit: number): StoredEvent[] {
    return (this.#pending.all(limit) as unknown as EventRow[]).map(toStored);
  }

  markDispatched(seq: number, at: string): void {
    this.#markDone.run(at, seq);
  }

  /** Records a failed dispatch; after `maxAttempts` the event is parked as failed (replay it after a fix). */
  markDispatchFailed(event: StoredEvent, error: string, maxAttempts: number): void {
    const state: DispatchState = event.dispatchAttempts + 1 >= maxAttempts ? 'failed' : 'pending';
    this.#markAttempt.run(state, error, event.seq);
  }

  /** Puts events back to pending so the dispatcher runs them again. */
  resetDispatch(seqs: readonly number[]): void {
    const stmt = this.#db.prepare(`UPDATE events SET dispatch_state = 'pending', dispatch_attempts = 0 WHERE seq = ?`);
    for (const seq of seqs) stmt.run(seq);
  }

  /** Deletes an event and its outbox row (an operator repairing the store; tests of recovery). */
  delete(id: string): boolean {
    this.#db.prepare('DELETE FROM outbox WHERE event_id = ?').run(id);
    return this.#db.prepare('DELETE FROM events WHERE id = ?').run(id).changes === 1;
  }

  /** The time of the newest inbound event (catch-up resumes from it); the calendar's firings say nothing about the bus. */
  lastInboundTime(): string | null {
    const row = this.#db.prepare(`SELECT max(time) AS t FROM events WHERE origin = 'inbound' AND transport <> 'calendar'`).get() as { t: string | null };
    return row.t;
  }

  count(): number {
    return (this.#count.get() as { n: number }).n;
  }

  /** Events by origin and dispatch state (metrics). */
  countsByState(): Array<{ origin: EventOrigin; state: DispatchState; n: number }> {
    return this.#db.prepare('SELECT origin, dispatch_state AS state, count(*) AS n FROM events GROUP BY origin, dispatch_state').all() as Array<{ origin: EventOrigin; state: DispatchState; n: number }>;
  }

  /** Raw bytes as received, for inbound events. */
  raw(id: string): Uint8Array | null {
    const row = this.#db.prepare('SELECT raw, data, raw_is_data FROM events WHERE id = ?').get(id) as { raw: Uint8Array | null; data: string; raw_is_data: number } | undefined;
    if (!row) return null;
    return row.raw_is_data === 1 ? Buffer.from(row.data, 'utf8') : row.raw;
  }

  query(q: EventQuery): StoredEvent[] {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (q.topic) (where.push('topic = ?'), params.push(q.topic));
    if (q.type) (where.push('type = ?'), params.push(q.type));
    if (q.subject) (where.push('subject = ?'), params.push(q.subject));
    if (q.since) (where.push('time >= ?'), params.push(q.since));
    if (q.until) (where.push('time < ?'), params.push(q.until));
    // The chain's first message has the correlation id as its id; the rest were emitted by relengd.
    if (q.correlationId) (where.push(`(id = ? OR (origin = 'emitted' AND correlation_id = ?))`), params.push(q.correlationId, q.correlationId));
    if (q.dispatchState) (where.push('dispatch_state = ?'), params.push(q.dispatchState));
    if (q.afterSeq !== undefined) (where.push('seq > ?'), params.push(q.afterSeq));
    if (q.beforeSeq !== undefined) (where.push('seq < ?'), params.push(q.beforeSeq));
    if (q.origin) (where.push('origin = ?'), params.push(q.origin));
    if (q.ids?.length) (where.push(`id IN (${q.ids.map(() => '?').join(', ')})`), params.push(...q.ids));
    const sql = `SELECT ${COLUMNS} FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq ${q.order === 'asc' ? 'ASC' : 'DESC'} ${q.limit ? 'LIMIT ?' : ''}`;
    if (q.limit) params.push(q.limit);
    return (this.#db.prepare(sql).all(...params) as unknown as EventRow[]).map(toStored);
  }
}

function toStored(row: EventRow): StoredEvent {
  return storedEvent(row, row.known === 1);
}

/** A row as an event (either backend). One row that cannot be parsed never fails a read: it comes back marked `unreadable`. */
export function storedEvent(row: EventRow<unknown>, known: boolean): StoredEvent {
  let headers: Record<string, string> = {};
  let data: unknown = null;
  let unreadable: string | undefined;
  try {
    headers = JSON.parse(row.headers) as Record<string, string>;
    data = JSON.parse(row.data) as unknown;
  } catch (error) {
    unreadable = `stored row ${row.seq} cannot be read: ${(error as Error).message}`;
  }
  return {
    seq: row.seq,
    envelope: {
      id: row.id,
      topic: row.topic,
      prefix: row.prefix,
      type: row.type,
      source: row.source,
      subject: row.subject ?? undefined,
      time: row.time,
      correlationid: row.correlation_id,
      causationid: row.causation_id ?? undefined,
      publisher: row.publisher ?? undefined,
      headers,
      data,
      known,
    },
    origin: row.origin,
    transport: row.transport,
    receivedAt: row.received_at,
    dispatchState: row.dispatch_state,
    dispatchAttempts: row.dispatch_attempts,
    dispatchError: row.dispatch_error,
    ...(unreadable ? { unreadable } : {}),
  };
}
