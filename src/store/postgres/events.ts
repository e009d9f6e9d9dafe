import type { Envelope } from '../../events/envelope.ts';
import { storedEvent, type DispatchState, type EventInsertRow, type EventOrigin, type EventQuery, type EventRow as SharedEventRow, type StoredEvent } from '../events.ts';
import type { PgDatabase, SqlParam } from './database.ts';
import { wake, WakeChannel } from './notify.ts';

/** A row as PostgreSQL returns it: `known` is a boolean. */
type EventRow = SharedEventRow<boolean>;

const COLUMNS = `seq, id, topic, prefix, type, source, subject, time, received_at, correlation_id, causation_id,
  publisher, origin, transport, known, headers, data, dispatch_state, dispatch_attempts, dispatch_error`;

export interface InsertEventMeta {
  origin: EventOrigin;
  transport: string;
  receivedAt: string;
  raw?: Uint8Array | null;
  rawIsData?: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The events table on PostgreSQL: the inbox (one row per message id, shared by every replica) and
 * everything relengd emitted. The same methods and meanings as the SQLite store's EventsTable, async.
 */
export class PgEventsTable {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  /**
   * Inserts an event unless its id is known (the inbox's duplicate check, `ON CONFLICT DO NOTHING`):
   * when replicas insert one message id at once, exactly one gets true.
   */
  async insert(envelope: Envelope, meta: InsertEventMeta): Promise<boolean> {
    // A new row wakes the replicas listening for events (sent on commit; one per transaction however
    // many rows it inserted), in the same round trip as the insert.
    const result = await this.#db.query(
      `WITH inserted AS (
         INSERT INTO events (${INSERT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (id) DO NOTHING RETURNING seq)
       SELECT pg_notify('${WakeChannel.events}', '') FROM inserted`,
      insertRow(envelope, meta),
    );
    return result.rowCount === 1;
  }

  /**
   * Inserts a batch of events in one statement (deliveries that arrive together: group commit), in
   * batch order. For each, whether it was new: an id already stored, or earlier in the same batch, is
   * not (one round trip instead of one per message). Two replicas' batches holding the same ids in
   * different orders can deadlock; PostgreSQL then aborts one (40P01: `isPostgresStoreError`, retry).
   */
  async insertMany(items: ReadonlyArray<{ envelope: Envelope; meta: InsertEventMeta }>): Promise<boolean[]> {
    return this.#insertValues(items.map(({ envelope, meta }) => insertRow(envelope, meta)));
  }

  /**
   * {@link insertMany} for rows made by the SQLite store's `eventRow` (the inbox's writes, made
   * before any transaction): `known` and `raw_is_data` as 0/1, the data as UTF-8 bytes when the body is it.
   */
  async insertRows(rows: readonly EventInsertRow[]): Promise<boolean[]> {
    return this.#insertValues(rows.map(fromEventRow));
  }

  /** Inserts rows of INSERT_COLUMNS values in one statement, in order; for each, whether it was new (see insertMany). */
  async #insertValues(rows: readonly SqlParam[][]): Promise<boolean[]> {
    if (rows.length === 0) return [];
    const columns = INSERT_COLUMN_TYPES.map((_, c) => rows.map((row) => row[c]!));
    const { rows: inserted } = await this.#db.query<{ id: string }>(
      `WITH inserted AS (
         INSERT INTO events (${INSERT_COLUMNS})
         SELECT ${INSERT_COLUMN_TYPES.map((_, c) => `c${c}`).join(', ')}
         FROM unnest(${INSERT_COLUMN_TYPES.map((type, c) => `$${c + 1}::${type}[]`).join(', ')}) WITH ORDINALITY AS u(${INSERT_COLUMN_TYPES.map((_, c) => `c${c}`).join(', ')}, ord)
         ORDER BY ord
         ON CONFLICT (id) DO NOTHING RETURNING id),
       woken AS (SELECT pg_notify('${WakeChannel.events}', '') FROM inserted LIMIT 1)
       SELECT id FROM inserted, (SELECT count(*) FROM woken) w`,
      columns as unknown as SqlParam[],
    );
    const fresh = new Set(inserted.map((r) => r.id));
    // The first of an id within the batch is the one inserted.
    return rows.map((row) => fresh.delete(row[0] as string));
  }

  async has(id: string): Promise<boolean> {
    return (await this.#db.query('SELECT 1 FROM events WHERE id = $1', [id])).rowCount > 0;
  }

  async get(id: string): Promise<StoredEvent | undefined> {
    const { rows } = await this.#db.query<EventRow>(`SELECT ${COLUMNS} FROM events WHERE id = $1`, [id]);
    return rows[0] && toStored(rows[0]);
  }

  /** Oldest events not yet dispatched to the listeners. */
  async pending(limit: number): Promise<StoredEvent[]> {
    const { rows } = await this.#db.query<EventRow>(`SELECT ${COLUMNS} FROM events WHERE dispatch_state = 'pending' ORDER BY seq LIMIT $1`, [limit]);
    return rows.map(toStored);
  }

  async markDispatched(seq: number, at: string): Promise<void> {
    await this.#db.query(
      `UPDATE events SET dispatch_state = 'done', dispatched_at = $1, dispatch_error = NULL, dispatch_attempts = dispatch_attempts + 1 WHERE seq = $2`,
      [at, seq],
    );
  }

  /** Records a failed dispatch; after `maxAttempts` the event is parked as failed (replay it after a fix). */
  async markDispatchFailed(event: StoredEvent, error: string, maxAttempts: number): Promise<void> {
    const state: DispatchState = event.dispatchAttempts + 1 >= maxAttempts ? 'failed' : 'pending';
    await this.#db.query('UPDATE events SET dispatch_state = $1, dispatch_error = $2, dispatch_attempts = dispatch_attempts + 1 WHERE seq = $3', [state, error, event.seq]);
  }

  /** Puts events back to pending so the dispatcher runs them again. */
  async resetDispatch(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.#db.query(`UPDATE events SET dispatch_state = 'pending', dispatch_attempts = 0 WHERE seq = ANY($1::bigint[])`, [seqs]);
    await wake(this.#db, WakeChannel.events);
  }

  /** Deletes an event and its outbox row (an operator repairing the store; tests of recovery). */
  async delete(id: string): Promise<boolean> {
    return this.#db.transaction(async () => {
      await this.#db.query('DELETE FROM outbox WHERE event_id = $1', [id]);
      return (await this.#db.query('DELETE FROM events WHERE id = $1', [id])).rowCount === 1;
    });
  }

  /** The time of the newest inbound event (catch-up resumes from it); the calendar's firings say nothing about the bus. */
  async lastInboundTime(): Promise<string | null> {
    const { rows } = await this.#db.query<{ t: string | null }>(`SELECT max(time) AS t FROM events WHERE origin = 'inbound' AND transport <> 'calendar'`);
    return rows[0]?.t ?? null;
  }

  async count(): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>('SELECT count(*) AS n FROM events');
    return rows[0]?.n ?? 0;
  }

  /** Events by origin and dispatch state (metrics). */
  async countsByState(): Promise<Array<{ origin: EventOrigin; state: DispatchState; n: number }>> {
    const { rows } = await this.#db.query<{ origin: EventOrigin; state: DispatchState; n: number }>(
      'SELECT origin, dispatch_state AS state, count(*) AS n FROM events GROUP BY origin, dispatch_state',
    );
    return rows;
  }

  /** Raw bytes as received, for inbound events. */
  async raw(id: string): Promise<Uint8Array | null> {
    const { rows } = await this.#db.query<{ raw: Buffer | null; data: string; raw_is_data: boolean }>('SELECT raw, data, raw_is_data FROM events WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) return null;
    return row.raw_is_data ? Buffer.from(row.data, 'utf8') : row.raw;
  }

  async query(q: EventQuery): Promise<StoredEvent[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const p = (value: SqlParam): string => (params.push(value), `$${params.length}`);
    if (q.topic) where.push(`topic = ${p(q.topic)}`);
    if (q.type) where.push(`type = ${p(q.type)}`);
    if (q.subject) where.push(`subject = ${p(q.subject)}`);
    if (q.since) where.push(`time >= ${p(q.since)}`);
    if (q.until) where.push(`time < ${p(q.until)}`);
    // The chain's first message has the correlation id as its id; the rest were emitted by relengd.
    if (q.correlationId) {
      const c = p(q.correlationId);
      where.push(`(id = ${c} OR (origin = 'emitted' AND correlation_id = ${c}))`);
    }
    if (q.dispatchState) where.push(`dispatch_state = ${p(q.dispatchState)}`);
    if (q.afterSeq !== undefined) where.push(`seq > ${p(q.afterSeq)}`);
    if (q.beforeSeq !== undefined) where.push(`seq < ${p(q.beforeSeq)}`);
    if (q.origin) where.push(`origin = ${p(q.origin)}`);
    if (q.ids?.length) where.push(`id IN (${q.ids.map((id) => p(id)).join(', ')})`);
    const limit = q.limit ? `LIMIT ${p(q.limit)}` : '';
    const sql = `SELECT ${COLUMNS} FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq ${q.order === 'asc' ? 'ASC' : 'DESC'} ${limit}`;
    const { rows } = await this.#db.query<EventRow>(sql, params);
    return rows.map(toStored);
  }
}

const INSERT_COLUMNS = `id, topic, prefix, type, source, subject, time, received_at, correlation_id, causation_id,
  publisher, origin, transport, known, headers, data, raw, raw_is_data`;
const INSERT_COLUMN_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'boolean', 'text', 'text', 'bytea', 'boolean'] as const;

/** An event's values in INSERT_COLUMNS order. */
function insertRow(envelope: Envelope, meta: InsertEventMeta): SqlParam[] {
  const raw = meta.raw ?? null;
  // A body whose bytes are the data is kept once, as the data text. PostgreSQL text must be valid
  // UTF-8 without NUL: a body that is not is kept as raw bytes beside its JSON data instead.
  const bodyText = meta.rawIsData === true && raw !== null ? utf8Text(raw) : null;
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
    envelope.known,
    JSON.stringify(envelope.headers),
    bodyText ?? JSON.stringify(envelope.data),
    bodyText !== null ? null : raw,
    bodyText !== null,
  ];
}

/** A row made by the SQLite store's `eventRow`, as INSERT_COLUMNS values (see insertRow for why bytes that are not text stay raw). */
function fromEventRow(row: EventInsertRow): SqlParam[] {
  const [id, topic, prefix, type, source, subject, time, receivedAt, correlationId, causationId, publisher, origin, transport, known, headers, data, raw, rawIsData] = row;
  let text: string;
  let kept = raw;
  let isData = rawIsData === 1;
  if (typeof data === 'string') text = data;
  else {
    const decoded = utf8Text(data);
    // Not text PostgreSQL can hold: the bytes are kept raw, the data as the text SQLite would read
    // back from them (invalid sequences replaced; a NUL cannot occur in a JSON body that parsed).
    text = decoded ?? lossyUtf8.decode(data).replaceAll('\0', '\ufffd');
    if (decoded === null) {
      kept = data;
      isData = false;
    }
  }
  return [id, topic, prefix, type, source, subject, time, receivedAt, correlationId, causationId, publisher, origin, transport, known === 1, headers, text, kept, isData];
}

/** The bytes as text when they are valid UTF-8 without NUL (what a PostgreSQL text value can hold), else null. */
function utf8Text(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

function toStored(row: EventRow): StoredEvent {
  return storedEvent(row, row.known);
}
