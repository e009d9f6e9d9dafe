import { archiveEntryToDelivery } from '../bus/archive/codec.ts';
import { datagrepperPages } from '../bus/archive/datagrepper.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { withPrefix } from '../events/topics.ts';
import type { Logger } from '../log.ts';
import type { Delivery, Intake } from '../pipeline/intake.ts';
import { addCounts, importDeliveries, type ImportCounts } from '../pipeline/import.ts';
import type { Store } from '../store/store.ts';

export interface CatchUpOptions {
  config: Config;
  store: Store;
  intake: Intake;
  clock: Clock;
  logger: Logger;
  /** Bare topics the listeners subscribe to (asked for when the config names none). */
  topics: readonly string[];
  fetchImpl?: typeof fetch;
}

/**
 * On start, before consuming live: ask datagrepper for what was published since the newest
 * message in the store (at most `maxAgeHours` back) and store what was not seen. A datagrepper
 * that cannot be reached is logged and skipped: live consumption must not wait on it.
 */
export async function catchUpOnStart(o: CatchUpOptions): Promise<ImportCounts | null> {
  const dg = o.config.recovery.datagrepper;
  if (!dg) return null;
  const log = o.logger.child({ component: 'recovery' });
  const now = o.clock.now();
  const floor = new Date(now.getTime() - dg.maxAgeHours * 3_600_000).toISOString();
  const last = o.store.events.lastInboundTime();
  if (last && last < floor) log.warn({ lastSeen: last, from: floor }, 'last message is older than recovery.datagrepper.maxAgeHours: older ones are not caught up (use relengd replay --from-datagrepper --since)');
  const since = last && last > floor ? last : floor;
  const topics = dg.topics ?? o.topics.filter((t) => !/[*#]/.test(t)).map((t) => withPrefix(t, o.config.topicPrefix));
  let counts: ImportCounts = { committed: 0, duplicate: 0, rejected: 0, dropped: 0, failed: 0 };
  try {
    for await (const entries of datagrepperPages(dg.url, { since, until: now.toISOString(), topics }, o.fetchImpl)) {
      const deliveries = entries.map(archiveEntryToDelivery).filter((d): d is Delivery => typeof d !== 'string');
      counts = addCounts(counts, importDeliveries(o.intake, deliveries));
    }
  } catch (error) {
    log.error({ err: error, url: dg.url }, 'catch-up from datagrepper failed; consuming live without it');
    return counts;
  }
  log.info({ url: dg.url, since, ...counts }, 'caught up from datagrepper');
  return counts;
}
