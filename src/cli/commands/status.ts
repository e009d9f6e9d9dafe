import type { Command } from 'commander';
import { lastFiring, type LastFiring } from '../../bus/calendar/index.ts';
import { systemClock } from '../../clock.ts';
import { nextSlot, type Config } from '../../config/index.ts';
import { openRepo } from '../../ostree/index.ts';
import { COMPOSE_QUEUE, STREAM_HEAD, type ComposeQueue, type StreamHead } from '../../pipeline/listeners/composer.ts';
import { PROMOTION, type Candidate } from '../../pipeline/listeners/promoter.ts';
import { groupSchedules } from '../../pipeline/listeners/schedules.ts';
import { Store } from '../../store/store.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';

interface StreamStatus {
  id: string;
  group: string;
  arch: string;
  ref: string;
  refCommit: string | null;
  head: StreamHead | null;
  composing: ComposeQueue | null;
  releaseRef: string | null;
  releaseCommit: string | null;
}

/** A schedule (shared by the streams of a group): what it fired last and when it fires next. */
interface ScheduleStatus {
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

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('streams (refs, last compose, queue), release candidates and their gates, jobs, outbox')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const store = Store.openExisting(config.store.path);
      try {
        const status = {
          streams: await streamsStatus(config, store),
          schedules: schedulesStatus(config, store, systemClock.now()),
          candidates: store.state.list(PROMOTION).map(({ value }) => summarizeCandidate(value as Candidate)),
          jobs: store.jobs.countByState(),
          outboxPending: store.outbox.countPending(),
          rejected: store.rejected.count(),
          failedEvents: store.events.query({ dispatchState: 'failed' }).length,
        };
        output(opts.json, status, () => render(status));
      } finally {
        store.close();
      }
    });
}

async function streamsStatus(config: Config, store: Store): Promise<StreamStatus[]> {
  return Promise.all(
    config.streams.map(async (s) => {
      const repo = openRepo(s.ostree.repo);
      const exists = repo.exists();
      return {
        id: s.id,
        group: s.group,
        arch: s.arch,
        ref: s.ostree.ref,
        refCommit: exists ? await repo.revParse(s.ostree.ref) : null,
        head: (store.state.get(STREAM_HEAD, s.id) as StreamHead | undefined) ?? null,
        composing: (store.state.get(COMPOSE_QUEUE, s.ostree.ref) as ComposeQueue | undefined) ?? null,
        releaseRef: s.promote?.ref ?? null,
        releaseCommit: exists && s.promote ? await repo.revParse(s.promote.ref) : null,
      };
    }),
  );
}

function schedulesStatus(config: Config, store: Store, now: Date): ScheduleStatus[] {
  return groupSchedules(config).map((s) => ({
    group: s.group,
    streams: s.streams.map((stream) => stream.id),
    cron: s.cron,
    timezone: s.timezone,
    action: s.action,
    catchUp: s.catchUp,
    last: lastFiring(store, s.key),
    next: nextSlot(s, now)?.toISOString() ?? null,
  }));
}

function summarizeCandidate(c: Candidate) {
  return {
    group: c.group,
    version: c.version,
    phase: c.phase,
    arches: Object.fromEntries(Object.entries(c.composes).map(([arch, compose]) => [arch, { status: compose.status, commit: compose.commit, composeId: compose.composeId }])),
    approved: c.approval !== null,
  };
}

const short = (c: string | null | undefined): string => (c ? c.slice(0, 12) : '-');

function render(s: { streams: StreamStatus[]; schedules: ScheduleStatus[]; candidates: ReturnType<typeof summarizeCandidate>[]; jobs: Record<string, number>; outboxPending: number; rejected: number; failedEvents: number }): string {
  const lines = ['streams:'];
  for (const st of s.streams) {
    const queue = st.composing ? ` composing ${st.composing.active?.version ?? '-'}${st.composing.pending ? `, then ${st.composing.pending.version}` : ''}` : '';
    lines.push(`  ${st.id.padEnd(28)} ${st.ref} = ${short(st.refCommit)} (last compose ${st.head?.version ?? '-'})${queue}`);
    if (st.releaseRef) lines.push(`  ${''.padEnd(28)} ${st.releaseRef} = ${short(st.releaseCommit)}`);
  }
  if (s.schedules.length > 0) lines.push('schedules:');
  for (const sc of s.schedules) {
    const last = sc.last ? `${sc.last.slot}${sc.last.missed ? ` (missed, fired ${sc.last.firedAt})` : ''}` : 'never';
    lines.push(`  ${sc.group} ${sc.action} "${sc.cron}" ${sc.timezone}: last ${last}, next ${sc.next ?? 'never'}`);
  }
  lines.push('release candidates:');
  if (s.candidates.length === 0) lines.push('  none');
  for (const c of s.candidates) {
    const arches = Object.entries(c.arches).map(([arch, a]) => `${arch} ${a.status}`).join(', ') || 'no compose yet';
    lines.push(`  ${c.group} ${c.version}: ${c.phase} (${arches})`);
  }
  lines.push(`jobs: ${Object.entries(s.jobs).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  lines.push(`outbox pending: ${s.outboxPending}   rejected messages: ${s.rejected}   events whose listeners failed: ${s.failedEvents}`);
  return lines.join('\n');
}
