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
export const VERSION_USE = 'version-use';
const MAX_REMEMBERED = 200;

/** A group's composes on one day: the next version {n} and compose number, and what each trigger got (so a replay re-derives it). */
interface VersionCounter {
  next: number;
  byCause: Record<string, number>;
  /** Every compose counts here, one that changed nothing too: compose ids are never reused. Absent in counters recorded before compose ids. */
  composes?: number;
  composeByCause?: Record<string, number>;
}

/**
 * A version handed out whose use is not known yet: the streams whose compose of it has not ended.
 * While none of them made a commit (or failed: a failed compose may be retried into one), the
 * version is still free; when the last ends without a change it is given back.
 */
export interface VersionUse {
  counter: string;
  n: number;
  waiting: string[];
}

/** A group's compose for one trigger: the version its commits carry (none when it only rebuilds artifacts) and its compose id. */
export interface GroupCompose {
  version: string | null;
  /** Pungi's style, `Fedora-AtomicHost-26-20261202.0`: unique per group and day, shared by the group's arches. */
  composeId: string;
  patches: StatePatch[];
}

/**
 * The version and compose id of a group's compose caused by `causeId`, from the stream's
 * templates. The version's {n} counts the group's composes that day that made a commit (a
 * compose that changed nothing gives its number back, see `versionEnded`); the compose id's {n}
 * counts every compose. Every arch of one trigger shares both; processing the same trigger again
 * gives the same ones and counts nothing twice. `composing`: the group's streams that will compose
 * it; none when the compose only rebuilds installers and images from the current commits (no
 * version is handed out then).
 */
export function allocateCompose(stream: StreamConfig, causeId: string, time: string, state: StateView, composing: readonly string[]): GroupCompose {
  const date = dateStamp(time);
  const key = `${stream.group}/${date}`;
  const counter = (state.get(VERSION_COUNTERS, key) as VersionCounter | undefined) ?? { next: 0, byCause: {} };
  const known = counter.byCause[causeId];
  const n = known ?? counter.next;
  const versioned = composing.length > 0;
  const composes = counter.composes ?? counter.next;
  const c = counter.composeByCause?.[causeId] ?? composes;
  const vars = { release: stream.release, date, group: stream.group };
  const version = versioned ? expandTemplate(stream.ostree.version, { ...vars, n: String(n) }) : null;
  const composeId = expandTemplate(stream.ostree.composeId, { ...vars, n: String(c) });
  // The same trigger again (a replay, a second arch): the counter holds it already.
  const counted = counter.composeByCause?.[causeId] !== undefined && (!versioned || known !== undefined) && counter.composes !== undefined;
  if (counted) return { version, composeId, patches: [] };
  const updated: VersionCounter = {
    next: versioned ? Math.max(counter.next, n + 1) : counter.next,
    byCause: versioned ? withRecent(counter.byCause, causeId, n) : counter.byCause,
    composes: Math.max(composes, c + 1),
    composeByCause: withRecent(counter.composeByCause, causeId, c),
  };
  const patches: StatePatch[] = [{ namespace: VERSION_COUNTERS, key, value: updated }];
  if (version !== null && known === undefined) patches.push({ namespace: VERSION_USE, key: `${stream.group}/${version}`, value: { counter: key, n, waiting: [...composing] } satisfies VersionUse });
  return { version, composeId, patches };
}

/**
 * `record` with `cause` set, keeping the most recent triggers of the day only: a replayed older one
 * only re-derives events that exist. (Called for each trigger: no intermediate arrays.)
 */
function withRecent(record: Record<string, number> | undefined, cause: string, n: number): Record<string, number> {
  const kept: Record<string, number> = {};
  if (record) {
    let skip = Object.keys(record).length - (MAX_REMEMBERED - 1);
    for (const key in record) {
      if (skip-- > 0) continue;
      kept[key] = record[key]!;
    }
  }
  kept[cause] = n;
  return kept;
}

/**
 * `streamId`'s compose of `version` ended (or will never run): `used` when it made a commit or
 * failed. The version is given back when the last waiting stream ended without using it and no
 * later version was handed out meanwhile (a later one keeps its number: versions only grow).
 */
export function versionEnded(group: string, version: string, streamId: string, used: boolean, state: StateView): StatePatch[] {
  const key = `${group}/${version}`;
  const use = state.get(VERSION_USE, key) as VersionUse | undefined;
  if (!use || !use.waiting.includes(streamId)) return [];
  if (used) return [{ namespace: VERSION_USE, key, value: null }];
  const waiting = use.waiting.filter((s) => s !== streamId);
  if (waiting.length > 0) return [{ namespace: VERSION_USE, key, value: { ...use, waiting } }];
  const patches: StatePatch[] = [{ namespace: VERSION_USE, key, value: null }];
  const counter = state.get(VERSION_COUNTERS, use.counter) as VersionCounter | undefined;
  if (counter && counter.next === use.n + 1) patches.push({ namespace: VERSION_COUNTERS, key: use.counter, value: { ...counter, next: use.n } });
  return patches;
}

/** Groups streams by group, keeping config order. */
export function byGroup(streams: readonly StreamConfig[]): Map<string, StreamConfig[]> {
  const groups = new Map<string, StreamConfig[]>();
  for (const s of streams) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  return groups;
}
