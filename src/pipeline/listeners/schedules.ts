import type { Config, ScheduleTriggerConfig, StreamConfig } from '../../config/index.ts';

/**
 * One schedule as it fires: the streams of a group that list the same `cron`, `timezone` and
 * `action` fire together, once per slot, so a group's arches share one version as they do for a
 * Bodhi push.
 */
export interface GroupSchedule extends ScheduleTriggerConfig {
  /** Stable across restarts and config reordering: what a firing's id and the store's lookups go by. */
  readonly key: string;
  readonly group: string;
  readonly streams: readonly StreamConfig[];
}

/** `f26-atomic-host:artifacts:UTC:0 5 * * *` (a cron expression has no `:`, a time zone neither). */
export function scheduleKey(group: string, schedule: Pick<ScheduleTriggerConfig, 'action' | 'timezone' | 'cron'>): string {
  return `${group}:${schedule.action}:${schedule.timezone}:${schedule.cron}`;
}

/** Every schedule of the configuration, one per group and shared `cron`/`timezone`/`action`, in config order. */
export function groupSchedules(config: Config): GroupSchedule[] {
  const byKey = new Map<string, GroupSchedule>();
  for (const stream of config.streams) {
    for (const schedule of stream.triggers.schedule) {
      const key = scheduleKey(stream.group, schedule);
      const known = byKey.get(key);
      // The config check makes the streams sharing a schedule agree on catchUp.
      if (known) byKey.set(key, { ...known, streams: known.streams.includes(stream) ? known.streams : [...known.streams, stream] });
      else byKey.set(key, { ...schedule, key, group: stream.group, streams: [stream] });
    }
  }
  return [...byKey.values()];
}
