import type { EventInsertRow, EventsTable } from './events.ts';
import type { RejectedRow, RejectedTable } from './rejected.ts';

/** One write of the inbox: an event (stored unless its id is known) or a rejected message. */
export type InboxWrite = { readonly table: 'events'; readonly row: EventInsertRow } | { readonly table: 'rejected'; readonly row: RejectedRow };

/**
 * Applies the writes in order, inside the caller's transaction. For each, whether it stored a row:
 * an event whose id is known already stores none (the inbox's duplicate check).
 */
export function applyInboxWrites(tables: { readonly events: EventsTable; readonly rejected: RejectedTable }, writes: readonly InboxWrite[]): boolean[] {
  const stored = new Array<boolean>(writes.length);
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]!;
    if (write.table === 'events') stored[i] = tables.events.insertRow(write.row);
    else {
      tables.rejected.insertRow(write.row);
      stored[i] = true;
    }
  }
  return stored;
}

