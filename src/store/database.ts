import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { migrations } from './migrations.ts';

/**
 * Opens (creating if needed) the SQLite store: WAL for concurrent readers (the CLI reads while the
 * daemon writes), synchronous=FULL so a commit is on disk before a delivery is acked.
 */
export function openDatabase(path: string, options: { readOnly?: boolean } = {}): DatabaseSync {
  if (path !== ':memory:' && !options.readOnly) mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { readOnly: options.readOnly ?? false, timeout: 5000 });
  if (!options.readOnly) {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db);
  }
  return db;
}

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  return row.user_version;
}

function migrate(db: DatabaseSync): void {
  const current = schemaVersion(db);
  for (let version = current; version < migrations.length; version++) {
    inTransaction(db, () => {
      db.exec(migrations[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
}

/**
 * Runs `fn` in a transaction (BEGIN IMMEDIATE: take the write lock up front, so two writers
 * never deadlock upgrading a read lock). Nested calls become savepoints.
 */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return inSavepoint(db, fn);
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/**
 * node:sqlite's errors: the store itself failed (locked past its busy timeout, full, closed), not
 * the data. Callers retry those later instead of blaming the message or event at hand.
 */
export function isStoreError(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error as { code?: unknown }).code === 'ERR_SQLITE_ERROR';
}

let savepointCounter = 0;

/**
 * Runs `fn` in a transaction that is always rolled back (a savepoint when one is open) and returns
 * what `fn` returned: a dry run. `fn` must be synchronous: a transaction left open across an await
 * would hold the store's write lock for as long as the awaited I/O takes (stalling the daemon), and
 * whatever else wrote on this connection meanwhile would be undone with it.
 */
export function inRolledBackTransaction<T>(db: DatabaseSync, fn: () => Synchronous<T>): T {
  const savepoint = db.isTransaction ? `dry${++savepointCounter}` : null;
  db.exec(savepoint ? `SAVEPOINT ${savepoint}` : 'BEGIN IMMEDIATE');
  try {
    const result = fn();
    if (isThenable(result)) throw new TypeError('a dry run must be synchronous; it was rolled back before the awaited work ran');
    return result;
  } finally {
    if (savepoint) db.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
    else db.exec('ROLLBACK');
  }
}

/** A result that is not a promise: what a function run inside a transaction may return. */
export type Synchronous<T> = T extends PromiseLike<unknown> ? never : T;

function isThenable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Runs `fn` in a savepoint: a failure undoes only what `fn` did. */
export function inSavepoint<T>(db: DatabaseSync, fn: () => T): T {
  const name = `sp${++savepointCounter}`;
  db.exec(`SAVEPOINT ${name}`);
  try {
    const result = fn();
    db.exec(`RELEASE ${name}`);
    return result;
  } catch (error) {
    db.exec(`ROLLBACK TO ${name}`);
    db.exec(`RELEASE ${name}`);
    throw error;
  }
}
