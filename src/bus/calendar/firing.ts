import { withPrefix } from '../../events/topics.ts';
import { scheduleFiringId } from '../../events/ids.ts';
import type { ScheduleFired } from '../../events/relengd/schedule.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import type { GroupSchedule } from '../../pipeline/listeners/schedules.ts';
import { FIRED_TOPIC } from './last-firing.ts';

export const CALENDAR_TRANSPORT = 'calendar';

/**
 * An event of relengd's own timers as a delivery for the intake: from the `calendar` source (the
 * trust model takes CALENDAR_TOPICS from it alone, under ids relengd derives), the body as its data.
 */
export function timerDelivery(o: { topic: string; id: string; data: unknown; subject: string; source: string; now: Date; topicPrefix: string }): Delivery {
  return {
    transport: CALENDAR_TRANSPORT,
    source: 'calendar',
    raw: Buffer.from(JSON.stringify(o.data)),
    rawIsData: true,
    headers: {},
    decoded: { topic: withPrefix(o.topic, o.topicPrefix), id: o.id, data: o.data, time: o.now.toISOString(), subject: o.subject, source: o.source },
  };
}

/**
 * A slot's firing as a delivery for the intake: from the `calendar` source (the trust model takes
 * relengd.schedule.fired from it alone), under an id derived from the schedule and the slot, so
 * firing the same slot again is a duplicate.
 */
export function firingDelivery(schedule: GroupSchedule, slot: Date, options: { now: Date; missed: boolean; topicPrefix: string }): Delivery {
  const data: ScheduleFired = {
    schedule: schedule.key,
    group: schedule.group,
    streams: schedule.streams.map((s) => s.id),
    cron: schedule.cron,
    timezone: schedule.timezone,
    action: schedule.action,
    slot: slot.toISOString(),
    missed: options.missed,
  };
  return timerDelivery({ topic: FIRED_TOPIC, id: scheduleFiringId(schedule.key, data.slot), data, subject: schedule.key, source: '/relengd/calendar', now: options.now, topicPrefix: options.topicPrefix });
}
