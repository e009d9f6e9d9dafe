/**
 * What `relengd status` answers, as data (its `--json` document; README "relengd status" names
 * the keys) and as the text it prints without `--json`.
 */
import type { LastFiring } from '../bus/calendar/index.ts';
import type { RefHead } from '../ostree/index.ts';
import type { GateView } from '../pipeline/gates.ts';
import type { LastCompose } from '../pipeline/last-compose.ts';
import type { ComposeQueue, StreamHead } from '../pipeline/listeners/composer.ts';
import type { ReplicaStatus } from '../store/api.ts';
import type { DaemonRecord } from '../store/daemons.ts';

export interface DaemonsStatus {
  /** `up` while a daemon using this store beats; its address and pid are in `instances`. */
  state: 'up' | 'down';
  /** The newest heartbeat of any daemon still registered; null when none is (a clean stop unregisters). */
  lastSeen: string | null;
  instances: Array<DaemonRecord & { up: boolean }>;
}

export interface StreamStatus {
  id: string;
  group: string;
  arch: string;
  /** The ref composes land on (in Pungi's compose repo for a Pungi stream): commit and `version`. */
  updates: RefHead;
  /** The release ref: the commit and `version` live for clients; null when the stream is not promoted. */
  release: RefHead | null;
  /** The newest commit composed (relengd's or Pungi's). */
  head: StreamHead | null;
  lastCompose: LastCompose | null;
  composing: ComposeQueue | null;
}

/** A schedule (shared by the streams of a group): what it fired last and when it fires next. */
export interface ScheduleStatus {
  group: string;
  streams: string[];
  cron: string;
  timezone: string;
  action: 'compose' | 'artifacts';
  catchUp: 'latest' | 'none';
  last: LastFiring | null;
  /** The next slot after now; a slot missed while relengd is down fires on start instead (catchUp: latest). */
  next: string | null;
}

/** The stored message that decided a gate. */
export interface EventRef {
  id: string;
  topic: string;
  time: string;
  publisher: string | null;
}

export interface CandidateStatus {
  group: string;
  version: string;
  phase: string;
  arches: Record<string, { status: string; commit: string | null; composeId: string }>;
  approved: boolean;
  promoteJobId: string | null;
  /** An open candidate's missing pieces: arches with no compose of this version yet, gates not passed yet. Null once it is not open. */
  waitingOn: { arches: string[]; gates: string[] } | null;
  /** Each gate's state and the message that decided it; null once promoted or rolled back. */
  gates: GateView<EventRef>[] | null;
  /** What said no, newest first; null once promoted or rolled back. */
  refusals: Array<{ reason: string; detail: string; time: string; eventId: string }> | null;
}

export interface Status {
  daemon: DaemonsStatus;
  streams: StreamStatus[];
  schedules: ScheduleStatus[];
  candidates: CandidateStatus[];
  jobs: Record<string, number>;
  outboxPending: number;
  rejected: number;
  failedEvents: number;
  /** The replicas sharing a PostgreSQL store (null on SQLite: one process). */
  replicas: ReplicaStatus[] | null;
}

const short = (c: string | null | undefined): string => (c ? c.slice(0, 12) : '-');
const INDENT = ' '.repeat(4);

export function renderStatus(s: Status): string {
  return [
    daemonLines(s.daemon),
    ...(s.replicas ? replicaLines(s.replicas) : []),
    'streams:',
    ...s.streams.flatMap(streamLines),
    ...(s.schedules.length > 0 ? ['schedules:', ...s.schedules.map(scheduleLine)] : []),
    'release candidates:',
    ...(s.candidates.length === 0 ? ['  none'] : s.candidates.flatMap(candidateLines)),
    `jobs: ${Object.entries(s.jobs).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `outbox pending: ${s.outboxPending}   rejected messages: ${s.rejected}   events whose listeners failed: ${s.failedEvents}`,
  ].join('\n');
}

function daemonLines(d: DaemonsStatus): string {
  const describe = (i: DaemonsStatus['instances'][number]): string =>
    `pid ${i.pid} on ${i.host}${i.url ? `, ${i.url}` : ''}, relengd ${i.version}, started ${i.startedAt}, last heartbeat ${i.heartbeatAt}`;
  const up = d.instances.filter((i) => i.up);
  if (up.length > 0) return ['daemon: up', ...up.map((i) => `  ${describe(i)}`)].join('\n');
  if (d.lastSeen === null) return 'daemon: down (none registered in this store: a daemon registers while it runs, and unregisters when it stops)';
  return [`daemon: down (last seen ${d.lastSeen})`, ...d.instances.map((i) => `  ${describe(i)}`)].join('\n');
}

function replicaLines(replicas: readonly ReplicaStatus[]): string[] {
  if (replicas.length === 0) return ['replicas: none registered'];
  return [
    'replicas:',
    ...replicas.map((r) => `  ${r.id} (pid ${r.pid} on ${r.host})${r.stale ? ' STALE: its work is taken over' : ''}${r.dispatching ? ', dispatching' : ''}, ${r.jobLeases} job lease${r.jobLeases === 1 ? '' : 's'}, last heartbeat ${r.heartbeatAt}`),
  ];
}

function streamLines(st: StreamStatus): string[] {
  const refLine = (label: string, r: StreamStatus['updates']): string => `${INDENT}${label} ${r.ref} = ${short(r.commit)}${r.version ? ` (version ${r.version})` : ''}`;
  const lines = [`  ${st.id} (${st.group}, ${st.arch})`, refLine('updates', st.updates)];
  const last = st.lastCompose;
  if (last) {
    lines.push(`${INDENT}last compose ${last.version ?? last.composeId}: ${last.status} at ${last.time}${last.commit ? `, commit ${short(last.commit)}` : ''}`);
    for (const r of last.reasons) {
      const what = r.kind === 'artifact' ? `artifact ${r.name ?? ''} failed` : r.kind === 'pungi' ? 'Pungi' : 'compose failed';
      lines.push(`${INDENT}  ${what}: ${r.error}${r.log ? ` (log ${r.log})` : ''}`);
    }
  } else lines.push(`${INDENT}last compose: none`);
  if (st.composing) lines.push(`${INDENT}composing ${st.composing.active?.version ?? '-'}${st.composing.pending ? `, then ${st.composing.pending.version}` : ''}`);
  if (st.release) lines.push(`${refLine('release', st.release)}${st.release.commit ? '' : ' (never promoted)'}`);
  return lines;
}

function scheduleLine(sc: ScheduleStatus): string {
  const last = sc.last ? `${sc.last.slot}${sc.last.missed ? ` (missed, fired ${sc.last.firedAt})` : ''}` : 'never';
  return `  ${sc.group} ${sc.action} "${sc.cron}" ${sc.timezone}: last ${last}, next ${sc.next ?? 'never'}`;
}

function candidateLines(c: CandidateStatus): string[] {
  const arches = Object.entries(c.arches).map(([arch, a]) => `${arch} ${a.status}`).join(', ') || 'no compose yet';
  const lines = [`  ${c.group} ${c.version}: ${c.phase} (${arches})`];
  if (c.waitingOn) {
    const waits = [...c.waitingOn.arches.map((arch) => `${arch} compose`), ...c.waitingOn.gates];
    if (waits.length > 0) lines.push(`${INDENT}waiting on: ${waits.join(', ')}`);
  }
  for (const g of c.gates ?? []) {
    const by = g.decidedBy ? ` (${g.decidedBy.topic} ${g.decidedBy.id}${g.decidedBy.publisher ? ` from ${g.decidedBy.publisher}` : ''}, ${g.decidedBy.time})` : '';
    lines.push(`${INDENT}gate ${g.label}: ${g.state}${g.detail ? `: ${g.detail}` : ''}${by}`);
  }
  const refusal = c.refusals?.[0];
  if (refusal) lines.push(`${INDENT}refused (${refusal.reason}) at ${refusal.time}: ${refusal.detail}`);
  return lines;
}
