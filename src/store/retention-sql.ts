import type { StatementSync } from 'node:sqlite';
import type { StoreApi } from './api.ts';
import { PostgresStore } from './postgres/index.ts';
import { SqliteStore } from './sqlite-store.ts';
import { Store } from './store.ts';

export type RetentionParam = string | number | null;

/**
 * What retention (./retention.ts) needs of a backend: its SQL, written once with `?` placeholders
 * and the few spellings that differ, run on the backend's connection. The decisions (what is kept)
 * stay in retention.ts, the same on both.
 */
export interface RetentionSql {
  /** Rows of a query. Booleans come back as the backend has them (0/1 on SQLite): read them with `truthy`. */
  all<R>(sql: string, params?: readonly RetentionParam[]): Promise<R[]>;
  /** Runs a statement; how many rows it changed. */
  run(sql: string, params?: readonly RetentionParam[]): Promise<number>;
  /**
   * Runs one batch in a transaction of its own: never inside another loop's open transaction,
   * whose rollback would undo it. Every `all`/`run` of the batch is made from `fn`. A batch that
   * `decides` what to keep from the jobs and listener state sees every write to them committed
   * before its reads, and none lands until it commits (a job retried or a candidate opened
   * meanwhile counts): SQLite's one writer at a time gives that; PostgreSQL locks the two tables.
   */
  batch<T>(fn: () => Promise<T>, o?: { decides?: boolean }): Promise<T>;
  /** A JSON document column's top-level string `field`, as text. */
  jsonField(column: string, field: string): string;
  /** A JSON string value column (`"abc"`) as its text. */
  jsonText(column: string): string;
}

/** A boolean column as read back: SQLite's 0/1, PostgreSQL's true/false. */
export function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === 1n;
}

/** The retention port of a store: SQLite (the async store, or the synchronous tables underneath) or PostgreSQL. */
export function retentionSqlOf(store: StoreApi | Store): RetentionSql {
  if (store instanceof Store) return new SqliteRetentionSql(new SqliteStore(store));
  if (store instanceof SqliteStore) return new SqliteRetentionSql(store);
  if (store instanceof PostgresStore) return new PostgresRetentionSql(store);
  throw new Error(`retention: no SQL for a ${store.backend} store of this kind`);
}

/**
 * SQLite: the synchronous connection, statements prepared once. A batch is a SqliteStore
 * transaction, which waits for any open one to end and keeps other loops' calls out until it
 * commits; its statements run synchronously, so a batch takes no turn of the event loop.
 */
class SqliteRetentionSql implements RetentionSql {
  readonly #store: SqliteStore;
  readonly #statements = new Map<string, StatementSync>();

  constructor(store: SqliteStore) {
    this.#store = store;
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#store.sync.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  all<R>(sql: string, params: readonly RetentionParam[] = []): Promise<R[]> {
    return Promise.resolve(this.#prepare(sql).all(...params) as R[]);
  }

  run(sql: string, params: readonly RetentionParam[] = []): Promise<number> {
    return Promise.resolve(Number(this.#prepare(sql).run(...params).changes));
  }

  batch<T>(fn: () => Promise<T>): Promise<T> {
    // One writer at a time already: BEGIN IMMEDIATE once any open transaction has ended.
    return this.#store.transaction(fn);
  }

  jsonField(column: string, field: string): string {
    return `json_extract(${column}, '$.${field}')`;
  }

  jsonText(column: string): string {
    return `json_extract(${column}, '$')`;
  }
}

/** SQLSTATE of a lock not taken within lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';
const LOCK_WAIT_MS = 200;
/** Tries of a deciding batch before the run fails (logged; the next interval tries again). */
const LOCK_ATTEMPTS = 5;

/**
 * PostgreSQL: `?` numbered `$1, $2...` (no retention query has a `?` of its own); JSON documents
 * are TEXT columns (./postgres/migrations.ts), read through a jsonb cast. A batch is a transaction
 * on one pooled connection. Replicas pruning at once take turns at deciding batches (the lock
 * mode conflicts with itself), so two never delete from each other's stale reads.
 */
class PostgresRetentionSql implements RetentionSql {
  readonly #store: PostgresStore;
  readonly #numbered = new Map<string, string>();

  constructor(store: PostgresStore) {
    this.#store = store;
  }

  #sql(sql: string): string {
    let numbered = this.#numbered.get(sql);
    if (numbered === undefined) {
      let n = 0;
      numbered = sql.replace(/\?/g, () => `$${++n}`);
      this.#numbered.set(sql, numbered);
    }
    return numbered;
  }

  async all<R>(sql: string, params: readonly RetentionParam[] = []): Promise<R[]> {
    return (await this.#store.db.query(this.#sql(sql), params)).rows as R[];
  }

  async run(sql: string, params: readonly RetentionParam[] = []): Promise<number> {
    return (await this.#store.db.query(this.#sql(sql), params)).rowCount;
  }

  async batch<T>(fn: () => Promise<T>, o: { decides?: boolean } = {}): Promise<T> {
    if (!o.decides) return this.#store.db.transaction(fn);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#store.db.transaction(async () => {
          // Waits briefly, below deadlock_timeout (1s by default): when a dispatch transaction holds
          // one table and waits for the other, this batch gives way, not the dispatch. Writers to
          // jobs and state queue behind it meanwhile, as behind a SQLite writer.
          await this.#store.db.query(`SET LOCAL lock_timeout = '${LOCK_WAIT_MS}ms'`);
          await this.#store.db.query('LOCK TABLE jobs, state IN SHARE ROW EXCLUSIVE MODE');
          return fn();
        });
      } catch (error) {
        if ((error as { code?: unknown } | null)?.code !== LOCK_NOT_AVAILABLE || attempt >= LOCK_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, LOCK_WAIT_MS * attempt));
      }
    }
  }

  jsonField(column: string, field: string): string {
    return `(${column}::jsonb ->> '${field}')`;
  }

  jsonText(column: string): string {
    return `(${column}::jsonb #>> '{}')`;
  }
}
