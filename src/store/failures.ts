import { RelengdError } from '../errors.ts';
import { isStoreError as isSqliteStoreError } from './database.ts';
import { isPostgresStoreError } from './postgres/database.ts';

/** A replica acted on a lease it no longer holds (it expired and may be another replica's now). */
export class LeaseLostError extends RelengdError {
  readonly lease: string;
  readonly holder: string;
  constructor(lease: string, holder: string) {
    super(`lease ${lease} is no longer held by ${holder}`, { retriable: true });
    this.lease = lease;
    this.holder = holder;
  }
}

/**
 * The store failed, not the data (SQLite busy or full, PostgreSQL unreachable, a deadlock, a lease
 * that lapsed): callers retry later instead of blaming the message or event at hand.
 */
export function isStoreFailure(error: unknown): boolean {
  return isSqliteStoreError(error) || isPostgresStoreError(error) || error instanceof LeaseLostError;
}
