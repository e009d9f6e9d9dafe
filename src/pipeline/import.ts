import type { Delivery, Intake } from './intake.ts';

export interface ImportCounts {
  /** New messages, stored and (once dispatched) processed. */
  committed: number;
  /** Already in the store: skipped. */
  duplicate: number;
  /** Invalid or not allowed from an archive: kept in the rejected table with the reason. */
  rejected: number;
  /** relengd's own events (an export with --all): never taken from outside; their effects are derived again. */
  dropped: number;
  /** The store could not take them. */
  failed: number;
}

/** Feeds archived messages through the inbox in batches: only message ids not seen before are stored. */
export async function importDeliveries(intake: Intake, deliveries: readonly Delivery[], batchSize = 500): Promise<ImportCounts> {
  const counts: ImportCounts = { committed: 0, duplicate: 0, rejected: 0, dropped: 0, failed: 0 };
  for (let i = 0; i < deliveries.length; i += batchSize) {
    for (const outcome of await intake.accept(deliveries.slice(i, i + batchSize))) {
      switch (outcome.kind) {
        case 'committed':
          counts.committed++;
          break;
        case 'duplicate':
          counts.duplicate++;
          break;
        case 'rejected':
          counts.rejected++;
          break;
        case 'dropped':
          counts.dropped++;
          break;
        case 'retry-later':
          counts.failed++;
          break;
      }
    }
  }
  return counts;
}

export function addCounts(a: ImportCounts, b: ImportCounts): ImportCounts {
  return { committed: a.committed + b.committed, duplicate: a.duplicate + b.duplicate, rejected: a.rejected + b.rejected, dropped: a.dropped + b.dropped, failed: a.failed + b.failed };
}
