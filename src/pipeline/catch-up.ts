import type { StoreApi } from '../store/api.ts';
import type { DispatchObserver, Dispatcher } from './dispatcher.ts';
import { addCounts, importDeliveries, type ImportCounts } from './import.ts';
import type { Delivery, Intake } from './intake.ts';

/**
 * Where missed messages come from (a datagrepper, an archive file, a RabbitMQ stream): it hands
 * them over batch by batch as it reads them, and reads on once `each` has taken a batch.
 */
export type BatchSource = (each: (batch: readonly Delivery[]) => Promise<void>) => Promise<void>;

export interface CatchUpOptions {
  intake: Intake;
  store: StoreApi;
  /** Dispatch what was stored, and its cascade, after each batch. Without: whoever owns the intake dispatches (the daemon). */
  dispatcher?: Dispatcher | undefined;
  dryRun?: boolean | undefined;
}

export interface CatchUpReport extends ImportCounts {
  dryRun: boolean;
  /** Events emitted and jobs enqueued by dispatching (0 without a dispatcher). */
  emitted: number;
  enqueued: number;
}

/**
 * Stores the messages a source hands over that the store has not seen (by message id), batch by
 * batch as they come, and dispatches them when given a dispatcher. This is how missed messages are
 * caught up, on start and by `relengd replay --from-*`.
 *
 * A dry run holds what the source read until it is done, then runs all of it in one `store.dryRun`:
 * what batch N would do must be visible when batch N+1 is decided (duplicates, listener state) and
 * none of it may be committed, so it must be one transaction; and that transaction must not stay
 * open while the source reads the network (it would hold the store's write lock all that time).
 * Inside it, only the store is awaited: the intake's and the dispatcher's writes join the dry run's
 * transaction (async context), and other work on the store waits until it is rolled back.
 */
export async function catchUp(source: BatchSource, o: CatchUpOptions): Promise<CatchUpReport> {
  const report: CatchUpReport = { committed: 0, duplicate: 0, rejected: 0, dropped: 0, failed: 0, emitted: 0, enqueued: 0, dryRun: o.dryRun === true };
  const observer: DispatchObserver = { emitted: () => void report.emitted++, enqueued: () => void report.enqueued++ };
  const take = async (batch: readonly Delivery[]): Promise<void> => {
    Object.assign(report, addCounts(report, await importDeliveries(o.intake, batch)));
    if (!o.dispatcher) return;
    while ((await o.dispatcher.dispatchBatch(observer)).dispatched > 0) {
      // what the batch stored, and what that emitted
    }
  };
  if (!o.dryRun) {
    await source(take);
    return report;
  }
  const held: Array<readonly Delivery[]> = [];
  await source(async (batch) => void held.push(batch));
  await o.store.dryRun(async () => {
    for (const batch of held) await take(batch);
  });
  return report;
}
