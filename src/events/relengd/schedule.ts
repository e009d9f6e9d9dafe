import { z } from 'zod';
import { SafeValue } from './safe-value.ts';

/**
 * relengd.schedule.fired: a slot of a stream group's `triggers.schedule` came. Written only by
 * relengd's own calendar (never taken from outside); its id is derived from the schedule and the
 * slot, so a slot fires once however often relengd restarts.
 */
export const ScheduleFired = z.looseObject({
  /** The schedule's key, also the event's subject: group, action, time zone and cron expression. */
  schedule: z.string(),
  group: SafeValue,
  /** The streams that shared the schedule when it fired (the listener acts on those configured now). */
  streams: z.array(SafeValue),
  cron: z.string(),
  timezone: z.string(),
  action: z.enum(['compose', 'artifacts']),
  /** The slot this firing is for (ISO 8601, UTC); the event's `time` is when it fired. */
  slot: z.iso.datetime(),
  /** True when the slot passed while relengd was not running and fired on start (`catchUp: latest`). */
  missed: z.boolean(),
});
export type ScheduleFired = z.infer<typeof ScheduleFired>;
