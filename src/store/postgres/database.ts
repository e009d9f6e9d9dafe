import { AsyncLocalStorage } from 'node:async_hooks';
import { DatabaseError, Pool, TypeOverrides, types, type PoolClient, type QueryResultRow } from 'pg';
import { RelengdError } from '../../errors.ts';

/** `store.url` is not a PostgreSQL URL relengd can use. */
export class PostgresUrlError extends RelengdError {
  constructor(message: string) {
    super(message);
  }
}

/** Parameters of one query: what node-postgres serialises (JS arrays become PostgreSQL arrays). */
export type SqlParam = string | number | boolean | null | Uint8Array | Date | readonly string[] | readonly number[];

/** Anything that runs a query: the database (pool or the transaction in scope) or one client. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly SqlParam[]): Promise<{ rows: R[]; rowCount: number }>;
}

export interface PostgresOptions {
  /** Connections in the pool. @default 10 */
  maxConnections?: number | undefined;
  /** `application_name` each connection reports (pg_stat_activity names the replica). */
  applicationName?: string | undefined;
}

/**
 * bigint (seq, count(*)) as a JS number: seqs and counts stay far below 2^53, and the table classes
 * mirror the SQLite store's numbers. Per pool, not pg's process-wide `types`, so nothing else in the
 * process changes.
 */
function typeOverrides(): TypeOverrides {
  const overrides = new TypeOverrides(types);
  overrides.setTypeParser(types.builtins.INT8, (value: string) => Number(value));
  return overrides;
}

/** Checks a `store.url` is `postgres://` or `postgresql://` (pg would read other strings as socket paths or keywords). */
export function checkPostgresUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PostgresUrlError('store.url: not a URL (expected postgres://user@host:port/database)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new PostgresUrlError(`store.url: expected a postgres:// or postgresql:// URL, got ${parsed.protocol}//`);
  }
  if (parsed.pathname.length <= 1) throw new PostgresUrlError('store.url: the URL names no database (postgres://host/<database>)');
  return parsed;
}

let savepointCounter = 0;

/** Thrown through `transaction` to roll a dry run back; never escapes `dryRun`. */
class RolledBack extends Error {}

/**
 * A pool of connections to one PostgreSQL database, with transactions scoped by async context:
 * inside `transaction(fn)`, every `query` made from `fn`'s async call tree runs on the transaction's
 * one checked-out client, so the table classes work the same in and out of a transaction (as the
 * SQLite store's do). Nested `transaction` calls become savepoints.
 *
 * Queries of one transaction must not run concurrently with a nested transaction (a savepoint is a
 * point in the client's one command stream); awaiting them in sequence, as the store's callers do, is fine.
 */
export class PgDatabase implements Queryable {
  readonly pool: Pool;
  readonly url: string;
  readonly #scope = new AsyncLocalStorage<PoolClient>();
  #closed = false;

  constructor(url: string, options: PostgresOptions = {}) {
    checkPostgresUrl(url);
    this.url = url;
    this.pool = new Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'relengd',
      types: typeOverrides(),
    });
    // An idle client losing its connection (server restart) is replaced on the next checkout; without
    // a listener the pool's 'error' event would crash the process.
    this.pool.on('error', () => undefined);
  }

  /** The transaction's client when called inside `transaction`, else the pool. */
  get current(): Queryable {
    return this.#scope.getStore() ?? this.pool;
  }

  get inTransaction(): boolean {
    return this.#scope.getStore() !== undefined;
  }

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly SqlParam[] = []): Promise<{ rows: R[]; rowCount: number }> {
    const result = await this.current.query<R>(sql, params as SqlParam[]);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  /**
   * Runs `fn` in a transaction on one checked-out client: BEGIN, then COMMIT when `fn` resolves or
   * ROLLBACK when it throws (the error is rethrown). Inside a transaction, a savepoint instead: a
   * failure undoes only what `fn` wrote.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const open = this.#scope.getStore();
    if (open) return savepoint(open, fn);
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN').catch((error: unknown) => {
        broken = true;
        throw error;
      });
      try {
        const result = await this.#scope.run(client, fn);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection itself failed: do not hand it to the next caller
        }
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs `fn` in a transaction (a savepoint inside one) that is always rolled back, and returns what
   * `fn` returned: a dry run. Wakes sent inside it are dropped with it.
   */
  async dryRun<T>(fn: () => Promise<T>): Promise<T> {
    const undo = new RolledBack();
    let result: T | undefined;
    try {
      await this.transaction(async () => {
        result = await fn();
        throw undo;
      });
    } catch (error) {
      if (error !== undo) throw error;
    }
    return result as T;
  }

  /**
   * Runs `fn` outside any transaction in scope: its queries, and those of timers and callbacks it
   * sets up (they keep the async context they were made in), use the pool, never a transaction
   * that may have ended by the time they run.
   */
  outsideTransaction<T>(fn: () => T): T {
    return this.#scope.exit(fn);
  }

  /** A client of its own for the caller (LISTEN needs one that stays open): release it when done. */
  async connect(): Promise<PoolClient> {
    return this.pool.connect();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

async function savepoint<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  const name = `sp${++savepointCounter}`;
  await client.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn();
    await client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
    await client.query(`RELEASE SAVEPOINT ${name}`);
    throw error;
  }
}

/** Runs `fn` in a transaction of `db` (the helper the issue names; `db.transaction` is the same). */
export function withTransaction<T>(db: PgDatabase, fn: () => Promise<T>): Promise<T> {
  return db.transaction(fn);
}

/**
 * The server or connection failed (not the data): callers retry later instead of blaming the
 * message at hand, as with the SQLite store's `isStoreError`. Connection errors carry no SQLSTATE;
 * classes 08 (connection), 40 (serialization, deadlock), 53 (resources), 57 (shutdown) are the server's.
 */
export function isPostgresStoreError(error: unknown): boolean {
  if (error instanceof DatabaseError) return /^(08|40|53|57)/.test(error.code ?? '');
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code);
}

/** A unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof DatabaseError && error.code === '23505';
}
