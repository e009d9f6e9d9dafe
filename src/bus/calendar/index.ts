/**
 * Time as an event source: `triggers.schedule` slots become stored `relengd.schedule.fired` events,
 * and watched topics that went quiet (`watch`) stored `relengd.bus.silent` events.
 */
import type { Clock } from '../../clock.ts';
import type { Config } from '../../config/index.ts';
import type { Logger } from '../../log.ts';
import { groupSchedules } from '../../pipeline/listeners/schedules.ts';
import type { StoreApi } from '../../store/api.ts';
import { lastFiring } from './last-firing.ts';
import { SilenceWatch } from './silence.ts';
import { CalendarSource } from './source.ts';
import type { Wakeups } from './wakeups.ts';

export { CalendarSource, RETRY_MS } from './source.ts';
export { FIRED_TOPIC, lastFiring, type LastFiring } from './last-firing.ts';
export { MAX_TIMER_MS, realWakeups, type Wakeups } from './wakeups.ts';
export { SILENT_TOPIC, SilenceWatch, type TopicSilence } from './silence.ts';

/** The configuration's schedules as one calendar, knowing from `store` what fired last. */
export function createCalendar(o: { config: Config; store: StoreApi; clock: Clock; logger: Logger; wakeups?: Wakeups | undefined }): CalendarSource {
  return new CalendarSource({
    schedules: groupSchedules(o.config),
    clock: o.clock,
    logger: o.logger,
    topicPrefix: o.config.topicPrefix,
    lastFiredSlot: async (key) => {
      const last = await lastFiring(o.store, key);
      return last ? new Date(last.slot) : null;
    },
    wakeups: o.wakeups,
  });
}

/** The configuration's `watch` as one silence watch, knowing from `store` when each topic was last heard. */
export function createSilenceWatch(o: { config: Config; store: StoreApi; clock: Clock; logger: Logger; wakeups?: Wakeups | undefined }): SilenceWatch {
  const { observability } = o.store;
  return new SilenceWatch({ watches: o.config.watch, clock: o.clock, logger: o.logger, topicPrefix: o.config.topicPrefix, lastSeen: (topic) => observability.lastInbound(topic), wakeups: o.wakeups });
}
