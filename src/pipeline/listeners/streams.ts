import { expandTemplate, type Config, type StreamConfig } from '../../config/index.ts';
import type { StatePatch, StateView } from '../listener.ts';

export function streamById(config: Config, id: string): StreamConfig | undefined {
  return config.streams.find((s) => s.id === id);
}

export function streamsOfGroup(config: Config, group: string): StreamConfig[] {
  return config.streams.filter((s) => s.group === group);
}

/** Where a stream's composes land: Pungi's compose repository for a stream Pungi composes (until a promotion pulls its commits), else `ostree.repo`. */
export function composeRepo(stream: StreamConfig): string {
  return stream.triggers.pungi?.repo ?? stream.ostree.repo;
}

/** The label naming one version of a group, usable as a gating subject: `f26-atomic-host-26.20261126.0`. */
export function groupLabel(group: string, version: string): string {
  return `${group}-${version}`;
}

/** `20261126` from an event time: the version's {date} is the trigger's day, in UTC. */
export function dateStamp(time: string): string {
  return time.slice(0, 10).replaceAll('-', '');
}

export const VERSION_COUNTERS = 'version-counter';
const MAX_REMEMBERED = 200;

/** A group's composes on one day: the next {n}, and the {n} each trigger got (so a replay re-derives it). */
interface VersionCounter {
  next: number;
  byCause: Record<string, number>;
}

/**
 * The version for a group's compose caused by `causeId`, from the stream's template: {n} counts the
 * group's composes that day. Every arch of one trigger shares it; processing the same trigger again
 * gives the same version and does not count twice.
 */
export function versionFor(stream: StreamConfig, causeId: string, time: string, state: StateView): { version: string; patch: StatePatch } {
  const date = dateStamp(time);
  const key = `${stream.group}/${date}`;
  const counter = (state.get(VERSION_COUNTERS, key) as VersionCounter | undefined) ?? { next: 0, byCause: {} };
  const n = counter.byCause[causeId] ?? counter.next;
  // The most recent triggers of the day are enough: a replayed older one only re-derives events that exist.
  const recent = Object.entries(counter.byCause).slice(-(MAX_REMEMBERED - 1));
  const updated: VersionCounter = { next: Math.max(counter.next, n + 1), byCause: { ...Object.fromEntries(recent), [causeId]: n } };
  const version = expandTemplate(stream.ostree.version, { release: stream.release, date, n: String(n), group: stream.group });
  return { version, patch: { namespace: VERSION_COUNTERS, key, value: updated } };
}

/** Groups streams by group, keeping config order. */
export function byGroup(streams: readonly StreamConfig[]): Map<string, StreamConfig[]> {
  const groups = new Map<string, StreamConfig[]>();
  for (const s of streams) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  return groups;
}
