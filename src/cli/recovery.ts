import { datagrepperSource } from '../bus/archive/sources.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { withPrefix } from '../events/topics.ts';
import type { Logger } from '../log.ts';
import { catchUp, type CatchUpReport } from '../pipeline/catch-up.ts';
import type { Intake } from '../pipeline/intake.ts';
import type { StoreApi } from '../store/api.ts';

export interface CatchUpOnStartOptions {
  config: Config;
  store: StoreApi;
  intake: Intake;
  clock: Clock;
  logger: Logger;
  /** Bare topics the listeners subscribe to (asked for when the config names none). */
  topics: readonly string[];
  fetchImpl?: typeof fetch;
}

/**
 * On start, before consuming live: ask datagrepper for what was published since the newest
 * message in the store (at most `maxAgeHours` back) and store what was not seen, the way
 * `relengd replay --from-datagrepper` does; the daemon dispatches it. A datagrepper that cannot be
 * reached is logged and skipped (what was stored before it failed stays): live consumption must
 * not wait on it.
 * @returns what was stored, or null when no datagrepper is configured or it failed.
 */
export async function catchUpOnStart(o: CatchUpOnStartOptions): Promise<CatchUpReport | null> {
  const dg = o.config.recovery.datagrepper;
  if (!dg) return null;
  const log = o.logger.child({ component: 'recovery' });
  const now = o.clock.now();
  const floor = new Date(now.getTime() - dg.maxAgeHours * 3_600_000).toISOString();
  const last = await o.store.events.lastInboundTime();
  if (last && last < floor) log.warn({ lastSeen: last, from: floor }, 'last message is older than recovery.datagrepper.maxAgeHours: older ones are not caught up (use relengd replay --from-datagrepper --since)');
  const since = last && last > floor ? last : floor;
  const topics = dg.topics ?? o.topics.filter((t) => !/[*#]/.test(t)).map((t) => withPrefix(t, o.config.topicPrefix));
  const source = datagrepperSource(dg.url, { since, until: now.toISOString(), topics }, { fetchImpl: o.fetchImpl });
  try {
    const report = await catchUp(source, { intake: o.intake, store: o.store });
    log.info({ url: dg.url, since, ...report }, 'caught up from datagrepper');
    return report;
  } catch (error) {
    log.error({ err: error, url: dg.url }, 'catch-up from datagrepper failed; consuming live without it');
    return null;
  }
}
