/**
 * The dashboard's read functions over the store, the configuration and the OSTree repositories.
 * The daemon builds them (src/cli/daemon.ts) and hands them to the HTTP server, which never sees
 * the store. Everything here reads; nothing writes.
 */
import { SILENT_TOPIC, type TopicSilence } from '../../bus/calendar/index.ts';
import type { Transport } from '../../bus/transport.ts';
import type { Clock } from '../../clock.ts';
import type { Config } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import { refHeadReader } from '../../ostree/index.ts';
import { candidateEvents, candidateGates } from '../../pipeline/candidate-reads.ts';
import { lastCompose } from '../../pipeline/last-compose.ts';
import { COMPOSE_QUEUE, type ComposeQueue } from '../../pipeline/listeners/composer.ts';
import { PROMOTION, type Candidate } from '../../pipeline/listeners/promoter.ts';
import { loadHistory } from '../../pipeline/listeners/release-history.ts';
import { composeRepo, streamsOfGroup } from '../../pipeline/listeners/streams.ts';
import { CachedState, readingThrough } from '../../pipeline/state-cache.ts';
import { dataOf, hasObjectData, type StoredEvent } from '../../store/events.ts';
import type { JobRow } from '../../store/jobs.ts';
import { isLive } from './job-state.ts';
import type { StoreApi } from '../../store/api.ts';
import { COMMAND_TOPICS, OPERATOR_ROUTES } from '../../trust.ts';
import { clip } from './html.ts';
import type {
  ArchComposeView,
  ArtifactView,
  CandidateSummary,
  CandidateView,
  ChainView,
  DashboardReads,
  EventRef,
  HealthView,
  JobView,
  PromotionView,
  RefusalView,
  ReleaseView,
  StreamView,
  TimelineEntry,
} from './reads.ts';

export interface DashboardSourceOptions {
  store: StoreApi;
  config: Config;
  transport: Pick<Transport, 'name' | 'isReady' | 'backlog'>;
  /** The `watch` of silent topics; absent: none is shown. */
  silence?: { status(): Promise<TopicSilence[]> } | undefined;
  clock: Clock;
  /** One readable line for an event relengd emitted, or null (the page then shows its data). */
  describe?: ((envelope: Envelope) => string | null) | undefined;
}

/** How far back the pages look for gating messages, promotions and builds: enough for any live candidate. */
const SCAN_LIMIT = 500;
/** Events of a chain shown (oldest first): keeps the page small; `relengd events` has the rest. */
const CHAIN_SHOWN = 200;
/** Bytes of a rejected body shown, and characters of an error. */
const RAW_SHOWN = 240;
const ERROR_SHOWN = 300;

export function createDashboardReads(o: DashboardSourceOptions): DashboardReads {
  const { store, config } = o;
  const now = (): Date => o.clock.now();
  const refView = refHeadReader();

  const candidateOf = async (group: string, version: string): Promise<Candidate | undefined> => (await store.state.get(PROMOTION, `${group}/${version}`)) as Candidate | undefined;

  const archCompose = async (arch: string, c: Candidate['composes'][string], artifactJobs: JobRow[]): Promise<ArchComposeView> => {
    // A compose that ran a job is known by that job's id; a commit Pungi made was looked for by a pungi-commit job.
    const composeJob =
      (await store.jobs.ofCompose('compose', c.composeId, c.stream)) ??
      (await store.jobs.get(c.composeId)) ??
      (await store.jobs.list({ kind: 'pungi-commit', limit: SCAN_LIMIT })).find((j) => specOf(j).pungiComposeId === c.composeId && specOf(j).stream === c.stream);
    const finished = (await store.events.query({ topic: 'relengd.compose.finished', subject: c.ref, limit: SCAN_LIMIT })).find((e) => dataOf(e).composeId === c.composeId);
    const artifacts = c.artifacts.map((a): ArtifactView => {
      const job = artifactJobs.find((j) => specOf(j).composeId === c.composeId && specOf(j).stream === c.stream && specOf(j).name === a.name);
      return { name: a.name, kind: a.kind, format: a.format, size: a.size, sha256: a.sha256, path: a.path, ...jobLog(job) };
    });
    return { arch, stream: c.stream, composeId: c.composeId, ref: c.ref, commit: c.commit, status: c.status, ...jobLog(composeJob), correlationId: finished?.envelope.correlationid ?? null, artifacts };
  };

  const candidate = async (group: string, version: string): Promise<CandidateView | undefined> => {
    const c = await candidateOf(group, version);
    if (!c) return undefined;
    const streams = streamsOfGroup(config, group).filter((s) => s.promote);
    const artifactJobs = await store.jobs.list({ kind: 'artifact', limit: SCAN_LIMIT });
    const arches = await Promise.all(streams.map(async (s) => ({ arch: s.arch, compose: c.composes[s.arch] ? await archCompose(s.arch, c.composes[s.arch]!, artifactJobs) : null })));
    const approvalEvent = c.approval ? await store.events.get(c.approval.eventId) : undefined;
    const ofCandidate = (topic: string): Promise<StoredEvent[]> => candidateEvents(store, c, topic, SCAN_LIMIT);
    const promotions = (await ofCandidate('relengd.release.promoted')).map((e): PromotionView => {
      const d = e.envelope.data as { refs: PromotionView['refs']; forced?: boolean };
      return { event: refOf(e), forced: d.forced === true, refs: d.refs };
    });
    const refusals = (await ofCandidate('relengd.release.promotion.refused')).map((e): RefusalView => ({ event: refOf(e), reason: String(dataOf(e).reason), detail: String(dataOf(e).detail) }));
    return {
      group,
      version,
      phase: c.phase,
      arches,
      gates: await candidateGates(store, config, c, refOf, SCAN_LIMIT),
      approval: c.approval ? { by: c.approval.by, event: approvalEvent ? refOf(approvalEvent) : null } : null,
      promotions,
      refusals,
      promoteJobId: c.jobId ?? null,
    };
  };

  const jobView = (job: JobRow): JobView => ({ ...job, durationMs: durationMs(job, now().getTime()) });

  return {
    streams: () =>
      Promise.all(
        config.streams.map(async (s): Promise<StreamView> => {
          const queue = (await store.state.get(COMPOSE_QUEUE, s.ostree.ref)) as ComposeQueue | undefined;
          const [updates, release, last] = await Promise.all([
            refView(composeRepo(s), s.ostree.ref),
            s.promote ? refView(s.ostree.repo, s.promote.ref) : null,
            lastCompose(store, s, SCAN_LIMIT),
          ]);
          return {
            id: s.id,
            group: s.group,
            arch: s.arch,
            updates,
            release,
            lastCompose: last,
            composing: queue ? { active: queue.active, pending: queue.pending ? { version: queue.pending.version } : null } : null,
          };
        }),
      ),
    candidates: async () => (await store.state.list(PROMOTION)).map(({ value }) => summaryOf(value as Candidate)),
    candidate,
    jobs: async (limit) => (await store.jobs.list({ limit })).map(jobView),
    job: async (id) => {
      const job = await store.jobs.get(id);
      return job && jobView(job);
    },
    chain: (correlationId) => chain(correlationId),
    rejected: async (limit) => ({
      rejections: (await store.rejected.list(limit)).map((r) => ({
        receivedAt: r.receivedAt,
        transport: r.transport,
        topic: r.topic,
        messageId: r.messageId,
        publisher: r.publisher,
        reason: r.reason,
        field: r.field,
        detail: clip(r.detail, ERROR_SHOWN),
        rawSize: r.rawSize,
        rawStart: Buffer.from(r.raw.subarray(0, RAW_SHOWN)).toString('utf8'),
      })),
      failedEvents: (await store.events.query({ dispatchState: 'failed', limit })).map((e) => ({ event: refOf(e), attempts: e.dispatchAttempts, error: e.dispatchError && clip(e.dispatchError, ERROR_SHOWN) })),
    }),
    health: async () => {
      const counts = await store.events.countsByState();
      return {
        backlog: await backlogOf(o.transport),
        silence: await Promise.all(
          ((await o.silence?.status()) ?? []).map(async (t) => {
            const report = (await store.events.query({ topic: SILENT_TOPIC, subject: t.topic, limit: 1 }))[0];
            return { topic: t.topic, quietHours: t.quietHours, lastSeen: t.lastSeen, silent: t.silent, reported: report ? refOf(report) : null };
          }),
        ),
        transport: o.transport.name,
        ready: o.transport.isReady() && store.isOpen(),
        connected: o.transport.isReady(),
        outboxPending: await store.outbox.countPending(),
        // Read, not claimed: on PostgreSQL `outbox.pending` claims rows for publishing.
        outboxOldest: await store.observability.oldestPendingOutbox(),
        dispatchPending: counts.filter((c) => c.state === 'pending').reduce((n, c) => n + c.n, 0),
        lastInbound: await store.events.lastInboundTime(),
        now: now().toISOString(),
      };
    },
    releases: () => Promise.all([...new Set(config.streams.filter((s) => s.promote).map((s) => s.group))].map(releaseView)),
    commands: () => Object.fromEntries([...COMMAND_TOPICS, ...OPERATOR_ROUTES].map((topic) => [topic, config.publishers[topic] ?? []])),
  };

  /** A group's release history (kept by the rollback listener) and its newest rollback outcome. */
  async function releaseView(group: string): Promise<ReleaseView> {
    const state = new CachedState(store);
    const history = await readingThrough(state, () => loadHistory(state, group));
    const current = history.current?.version ?? null;
    const versions = [...new Set([...history.promotions].reverse().map((p) => p.version))];
    const rolledBack = Object.entries(history.rolledBack)
      .map(([version, r]) => ({ version, by: r.by, at: r.at }))
      .sort((a, b) => b.at.localeCompare(a.at));
    const outcomes = [...(await store.events.query({ topic: 'relengd.release.rolled-back', subject: group, limit: 1 })), ...(await store.events.query({ topic: 'relengd.release.rollback.refused', subject: group, limit: 1 }))];
    const newest = outcomes.sort((a, b) => b.seq - a.seq)[0];
    const lastRollback = newest
      ? newest.envelope.topic === 'relengd.release.rolled-back'
        ? { outcome: 'rolled-back' as const, detail: `${String(dataOf(newest).fromVersion)} -> ${String(dataOf(newest).toVersion)}`, event: refOf(newest) }
        : { outcome: 'refused' as const, detail: `${String(dataOf(newest).reason)}: ${String(dataOf(newest).detail)}`, event: refOf(newest) }
      : null;
    return {
      group,
      current,
      rollbackTargets: versions.filter((v) => v !== current && !Object.hasOwn(history.rolledBack, v)),
      rolledBack,
      rollingBack: history.rollingBack && { jobId: history.rollingBack.jobId, toVersion: history.rollingBack.toVersion, awaitingSignatures: history.rollingBack.signing !== undefined },
      lastRollback,
    };
  }

  /** The chain's events, and the gating messages and promotion of the candidates its composes made. */
  async function chain(correlationId: string): Promise<ChainView> {
    const own = await store.events.query({ correlationId, order: 'asc', limit: CHAIN_SHOWN + 1 });
    const cut = own.length > CHAIN_SHOWN;
    if (cut) own.pop();
    const keys = new Set(own.filter((e) => e.envelope.topic === 'relengd.compose.finished').map((e) => `${String(dataOf(e).group)}/${String(dataOf(e).version)}`));
    const candidates = (
      await Promise.all(
        [...keys].map((key) => {
          const [group, ...rest] = key.split('/');
          return candidate(group!, rest.join('/'));
        }),
      )
    ).filter((view): view is CandidateView => view !== undefined);
    const seen = new Set(own.map((e) => e.envelope.id));
    const relatedIds = candidates.flatMap((c) => [...c.gates.map((g) => g.decidedBy?.id), c.approval?.event?.id, ...c.promotions.map((p) => p.event.id), ...c.refusals.map((r) => r.event.id)]);
    const relatedIdList = [...new Set(relatedIds.filter((id): id is string => id !== undefined && !seen.has(id)))];
    const related = relatedIdList.length > 0 ? await store.events.query({ ids: relatedIdList, order: 'asc' }) : [];
    const entry = (e: StoredEvent, isRelated: boolean): TimelineEntry => ({
      seq: e.seq,
      event: refOf(e),
      origin: e.origin,
      summary: hasObjectData(e) ? (o.describe?.(e.envelope) ?? null) : (e.unreadable ?? null),
      data: e.envelope.data,
      related: isRelated,
    });
    const entries = [...own.map((e) => entry(e, false)), ...related.map((e) => entry(e, true))].sort((a, b) => a.seq - b.seq);
    return { correlationId, entries, candidates: candidates.map(summaryOf), cut };
  }
}

function jobLog(job: JobRow | undefined): { jobId: string | null; log: string | null } {
  return { jobId: job?.id ?? null, log: job?.logPath ?? null };
}

function summaryOf(c: CandidateSummary): CandidateSummary {
  return { group: c.group, version: c.version, phase: c.phase };
}

function refOf(e: StoredEvent): EventRef {
  return { id: e.envelope.id, topic: e.envelope.topic, time: e.envelope.time, correlationId: e.envelope.correlationid, publisher: e.envelope.publisher ?? null };
}

function specOf(job: JobRow): Record<string, unknown> {
  return job.spec !== null && typeof job.spec === 'object' ? (job.spec as Record<string, unknown>) : {};
}

/** How long the job's last run took, or has taken so far; null when it never started. */
function durationMs(job: JobRow, nowMs: number): number | null {
  if (!job.startedAt || job.state === 'queued') return null;
  const ended = isLive(job.state) ? null : job.finishedAt;
  return Math.max(0, (ended ? Date.parse(ended) : nowMs) - Date.parse(job.startedAt));
}

/** What waits on the broker: asked of the transport (which caches it for a few seconds); a broker that cannot answer costs the page nothing. */
async function backlogOf(transport: Pick<Transport, 'backlog'>): Promise<HealthView['backlog']> {
  if (!transport.backlog) return { unknown: 'this transport cannot tell' };
  try {
    const messages = await transport.backlog();
    return messages === null ? { unknown: 'not connected to the broker' } : { messages };
  } catch (error) {
    return { unknown: `the broker did not say (${error instanceof Error ? error.message : String(error)})` };
  }
}
