import type { Command } from 'commander';
import { lastFiring } from '../../bus/calendar/index.ts';
import { systemClock } from '../../clock.ts';
import { nextSlot, type Config } from '../../config/index.ts';
import { refHeadReader } from '../../ostree/index.ts';
import { candidateEvents, candidateGates } from '../../pipeline/candidate-reads.ts';
import { lastCompose } from '../../pipeline/last-compose.ts';
import { COMPOSE_QUEUE, STREAM_HEAD, type ComposeQueue, type StreamHead } from '../../pipeline/listeners/composer.ts';
import { PROMOTION, type Candidate } from '../../pipeline/listeners/promoter.ts';
import { groupSchedules } from '../../pipeline/listeners/schedules.ts';
import { composeRepo, streamsOfGroup } from '../../pipeline/listeners/streams.ts';
import type { DaemonRecord } from '../../store/daemons.ts';
import { dataOf, type StoredEvent } from '../../store/events.ts';
import type { StoreApi } from '../../store/api.ts';
import { openStore } from '../../store/open.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { isBeating } from '../heartbeat.ts';
import { renderStatus, type CandidateStatus, type DaemonsStatus, type EventRef, type ScheduleStatus, type Status, type StreamStatus } from '../status-report.ts';

/** How far back status looks for a stream's composes, gating messages and refusals: enough for any live candidate. */
const SCAN_LIMIT = 500;
/** Candidates no gate or refusal concerns any more. */
const SETTLED: ReadonlySet<string> = new Set(['promoted', 'rolled-back']);

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('whether the daemon is up; each stream\'s last compose and why it failed, its refs and the version live on its release ref; what each release candidate waits on and what refused it; schedules, jobs, outbox')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const store = await openStore(config, { existing: true });
      try {
        const now = systemClock.now();
        const status: Status = {
          daemon: daemonsStatus(await store.daemons.list(), now),
          streams: await streamsStatus(config, store),
          schedules: await schedulesStatus(config, store, now),
          candidates: await Promise.all((await store.state.list(PROMOTION)).map(({ value }) => candidateStatus(config, store, value as Candidate))),
          jobs: await store.jobs.countByState(),
          outboxPending: await store.outbox.countPending(),
          rejected: await store.rejected.count(),
          failedEvents: (await store.events.query({ dispatchState: 'failed' })).length,
          replicas: (await store.replicas?.list()) ?? null,
        };
        output(opts.json, status, () => renderStatus(status));
      } finally {
        await store.close();
      }
    });
}

/** Up when any daemon on this store beat recently; a cleanly stopped daemon removes its row, a killed one's goes stale. */
export function daemonsStatus(records: readonly DaemonRecord[], now: Date): DaemonsStatus {
  const instances = records.map((d) => ({ ...d, up: isBeating(d, now) }));
  return { state: instances.some((d) => d.up) ? 'up' : 'down', lastSeen: records.map((d) => d.heartbeatAt).sort().at(-1) ?? null, instances };
}

async function streamsStatus(config: Config, store: StoreApi): Promise<StreamStatus[]> {
  const readRef = refHeadReader();
  return Promise.all(
    config.streams.map(async (s) => ({
      id: s.id,
      group: s.group,
      arch: s.arch,
      updates: await readRef(composeRepo(s), s.ostree.ref),
      release: s.promote ? await readRef(s.ostree.repo, s.promote.ref) : null,
      head: ((await store.state.get(STREAM_HEAD, s.id)) as StreamHead | undefined) ?? null,
      lastCompose: await lastCompose(store, s, SCAN_LIMIT),
      composing: ((await store.state.get(COMPOSE_QUEUE, s.ostree.ref)) as ComposeQueue | undefined) ?? null,
    })),
  );
}

function schedulesStatus(config: Config, store: StoreApi, now: Date): Promise<ScheduleStatus[]> {
  return Promise.all(
    groupSchedules(config).map(async (s) => ({
      group: s.group,
      streams: s.streams.map((stream) => stream.id),
      cron: s.cron,
      timezone: s.timezone,
      action: s.action,
      catchUp: s.catchUp,
      last: await lastFiring(store, s.key),
      next: nextSlot(s, now)?.toISOString() ?? null,
    })),
  );
}

/** A candidate, and while it is in play, what it waits on (arches without a compose, gates not passed yet) and what said no. */
async function candidateStatus(config: Config, store: StoreApi, c: Candidate): Promise<CandidateStatus> {
  const promotable = streamsOfGroup(config, c.group).filter((s) => s.promote);
  // In the configuration's order of arches, whichever finished first; an arch no longer configured last.
  const rank = (arch: string): number => {
    const i = promotable.findIndex((s) => s.arch === arch);
    return i === -1 ? promotable.length : i;
  };
  const composes = Object.entries(c.composes).sort(([a], [b]) => rank(a) - rank(b));
  const arches = Object.fromEntries(composes.map(([arch, compose]) => [arch, { status: compose.status, commit: compose.commit, composeId: compose.composeId }]));
  const summary = { group: c.group, version: c.version, phase: c.phase, arches, approved: c.approval !== null, promoteJobId: c.jobId ?? null };
  if (SETTLED.has(c.phase)) return { ...summary, waitingOn: null, gates: null, refusals: null };
  const gates = await candidateGates(store, config, c, eventRef, SCAN_LIMIT);
  const waitingOn =
    c.phase === 'open'
      ? { arches: promotable.filter((s) => !c.composes[s.arch]).map((s) => s.arch), gates: gates.filter((g) => g.state === 'pending').map((g) => g.label) }
      : null;
  const refusals = (await candidateEvents(store, c, 'relengd.release.promotion.refused', SCAN_LIMIT)).map((e) => ({
    reason: String(dataOf(e).reason),
    detail: String(dataOf(e).detail),
    time: e.envelope.time,
    eventId: e.envelope.id,
  }));
  return { ...summary, waitingOn, gates, refusals };
}

function eventRef(e: StoredEvent): EventRef {
  return { id: e.envelope.id, topic: e.envelope.topic, time: e.envelope.time, publisher: e.envelope.publisher ?? null };
}
