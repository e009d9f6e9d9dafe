import { withPrefix } from '../../events/topics.ts';
import { scheduleFiringId } from '../../events/ids.ts';
import type { ScheduleFired } from '../../events/relengd/schedule.ts';
import type { Delivery } from '../../pipeline/intake.ts';
import type { GroupSchedule } from '../../pipeline/listeners/schedules.ts';
import { FIRED_TOPIC } from './last-firing.ts';

export const CALENDAR_TRANSPORT = 'calendar';

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
  return {
    transport: CALENDAR_TRANSPORT,
    source: 'calendar',
    raw: Buffer.from(JSON.stringify(data)),
    rawIsData: true,
    headers: {},
    decoded: {
      topic: withPrefix(FIRED_TOPIC, options.topicPrefix),
      id: scheduleFiringId(schedule.key, data.slot),
      data,
      time: options.now.toISOString(),
      subject: schedule.key,
      source: '/relengd/calendar',
    },
  };
}
