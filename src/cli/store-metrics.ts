/**
 * What /metrics shows of the store, read at scrape time. Counters and histograms are built from
 * the rows stored since the previous scrape (a cursor per table), starting from everything in the
 * store: a restart loses no history, and retention pruning old rows never makes a count go down
 * (which Prometheus would take for a reset).
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import type { ComposeFinished, PromotionRefused, ReleasePromoted } from '../events/relengd/release.ts';
import { Histogram, type Labels, type Sample } from '../http/metrics.ts';
import type { ObservabilityApi, ReplicaStatus, StoreApi } from '../store/api.ts';

/** Seconds, message accepted -> job started: a job waits behind its ref's running compose (hours). */
export const JOB_START_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200];
/** Seconds a job ran: seconds for a promotion, hours for a compose or an installer. */
export const JOB_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800];

const COMPOSE_FINISHED = 'relengd.compose.finished';
const PROMOTED = 'relengd.release.promoted';
const REFUSED = 'relengd.release.promotion.refused';
/** A compose that produced its commit and required artifacts (DOOMED did not). */
const SUCCESSFUL = new Set(['FINISHED', 'FINISHED_INCOMPLETE']);

export class StoreMetrics {
  readonly #store: StoreApi;
  readonly #config: Config;
  readonly #clock: Clock;
  readonly #reads: ObservabilityApi;
  /** The scrape in progress: scrapes take turns, so two at once never count the same rows twice. */
  #collecting: Promise<unknown> = Promise.resolve();
  readonly #eventSeq = new Map<string, number>();
  #rejectedSeq = 0;
  readonly #started = new TimeCursor();
  readonly #finished = new TimeCursor();
  readonly #composes = new LabelledCounts();
  readonly #promotions = new LabelledCounts();
  readonly #refusals = new LabelledCounts();
  readonly #rejected = new LabelledCounts();
  readonly #jobStart = new LabelledHistograms(JOB_START_BUCKETS);
  readonly #jobDuration = new LabelledHistograms(JOB_DURATION_BUCKETS);
  /** Per stream, the time (ms) of its newest successful compose and promotion. */
  readonly #lastCompose = new Map<string, number>();
  readonly #lastPromotion = new Map<string, number>();

  constructor(o: { store: StoreApi; config: Config; clock: Clock }) {
    this.#store = o.store;
    this.#config = o.config;
    this.#clock = o.clock;
    this.#reads = o.store.observability;
  }

  collect(): Promise<Sample[]> {
    const scrape = this.#collecting.then(() => this.#collect());
    this.#collecting = scrape.catch(() => undefined);
    return scrape;
  }

  async #collect(): Promise<Sample[]> {
    await this.#catchUp();
    const now = this.#clock.now().getTime();
    const store = this.#store;
    const oldestPending = await this.#reads.oldestPendingOutbox();
    const [countsByState, rejectedCount, jobCounts, outboxPending] = await Promise.all([store.events.countsByState(), store.rejected.count(), store.jobs.countByState(), store.outbox.countPending()]);
    const ages = (last: ReadonlyMap<string, number>) => [...last].map(([stream, at]) => ({ labels: { stream }, value: Math.max(0, (now - at) / 1000) }));
    return [
      {
        name: 'relengd_events',
        help: 'Stored events by origin and dispatch state (failed: a listener threw; replay after a fix).',
        type: 'gauge',
        values: countsByState.map((r) => ({ labels: { origin: r.origin, state: r.state }, value: r.n })),
      },
      { name: 'relengd_rejected_messages', help: 'Messages kept in the rejected table (invalid, unauthorized, too large).', type: 'gauge', values: [{ value: rejectedCount }] },
      { name: 'relengd_rejected_messages_total', help: 'Messages rejected (and, on AMQP and Kafka, dead-lettered) by transport and reason.', type: 'counter', values: this.#rejected.values() },
      { name: 'relengd_jobs', help: 'Jobs by state.', type: 'gauge', values: Object.entries(jobCounts).map(([state, n]) => ({ labels: { state }, value: n })) },
      { name: 'relengd_outbox_pending', help: 'Events waiting for the broker to confirm them.', type: 'gauge', values: [{ value: outboxPending }] },
      {
        name: 'relengd_outbox_oldest_pending_age_seconds',
        help: 'How long the oldest event waiting for the broker has waited (0 when none waits).',
        type: 'gauge',
        values: [{ value: oldestPending === null ? 0 : Math.max(0, (now - Date.parse(oldestPending)) / 1000) }],
      },
      { name: 'relengd_composes_total', help: 'Composes finished (relengd.compose.finished), by stream and status.', type: 'counter', values: this.#composes.values() },
      { name: 'relengd_promotions_total', help: 'Release promotions (relengd.release.promoted), by group.', type: 'counter', values: this.#promotions.values() },
      { name: 'relengd_promotion_refusals_total', help: 'Promotions refused (relengd.release.promotion.refused), by group and reason.', type: 'counter', values: this.#refusals.values() },
      { name: 'relengd_last_successful_compose_age_seconds', help: "Seconds since the stream's newest FINISHED or FINISHED_INCOMPLETE compose.", type: 'gauge', values: ages(this.#lastCompose) },
      { name: 'relengd_last_promotion_age_seconds', help: "Seconds since the stream's release ref was last promoted.", type: 'gauge', values: ages(this.#lastPromotion) },
      {
        name: 'relengd_message_to_job_start_seconds',
        help: "From a message accepted (stored) to the first start of the job it led to, by job kind (jobs caused by another job's result are not counted).",
        type: 'histogram',
        series: this.#jobStart.series(),
      },
      { name: 'relengd_job_duration_seconds', help: 'How long job runs took, by kind (each run of a retried job counts).', type: 'histogram', series: this.#jobDuration.series() },
      ...replicaMetrics((await store.replicas?.list()) ?? null, now),
    ];
  }

  /** Counts what was stored since the last scrape. */
  async #catchUp(): Promise<void> {
    for (const e of await this.#newEvents(COMPOSE_FINISHED)) {
      const data = e.data as ComposeFinished;
      this.#composes.add({ stream: data.stream, status: data.status });
      if (SUCCESSFUL.has(data.status)) newest(this.#lastCompose, data.stream, Date.parse(e.time));
    }
    for (const e of await this.#newEvents(PROMOTED)) {
      const data = e.data as ReleasePromoted;
      this.#promotions.add({ group: data.group });
      for (const ref of data.refs) {
        const stream = this.#config.streams.find((s) => s.group === data.group && s.arch === ref.arch);
        if (stream) newest(this.#lastPromotion, stream.id, Date.parse(e.time));
      }
    }
    for (const e of await this.#newEvents(REFUSED)) {
      const data = e.data as PromotionRefused;
      this.#refusals.add({ group: data.group, reason: data.reason });
    }
    for (const r of await this.#reads.rejectedAfter(this.#rejectedSeq)) {
      this.#rejected.add({ transport: r.transport, reason: r.reason });
      this.#rejectedSeq = r.seq;
    }
    for (const job of this.#started.take(await this.#reads.jobsStartedSince(this.#started.at), (j) => j.startedAt, (j) => j.id)) {
      const accepted = await this.#reads.acceptedAtOf(job.causeEventId);
      if (accepted !== null) this.#jobStart.observe({ kind: job.kind }, Math.max(0, (Date.parse(job.startedAt) - Date.parse(accepted)) / 1000));
    }
    for (const run of this.#finished.take(await this.#reads.jobsFinishedSince(this.#finished.at), (j) => j.finishedAt, (j) => j.id)) {
      this.#jobDuration.observe({ kind: run.kind }, Math.max(0, (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000));
    }
  }

  async #newEvents(topic: string) {
    const events = await this.#reads.eventsAfter(topic, this.#eventSeq.get(topic) ?? 0);
    const last = events.at(-1);
    if (last) this.#eventSeq.set(topic, last.seq);
    return events;
  }
}

/** The replicas sharing a PostgreSQL store, as any of them sees them (none on SQLite). */
function replicaMetrics(replicas: readonly ReplicaStatus[] | null, now: number): Sample[] {
  if (replicas === null) return [];
  const labels = (r: ReplicaStatus): Labels => ({ replica: r.id, host: r.host });
  return [
    { name: 'relengd_replica_heartbeat_age_seconds', help: "Seconds since each replica's last heartbeat (past the lease, the others take its work over).", type: 'gauge', values: replicas.map((r) => ({ labels: labels(r), value: Math.max(0, (now - Date.parse(r.heartbeatAt)) / 1000) })) },
    { name: 'relengd_replica_job_leases', help: 'Running jobs each replica holds a lease on.', type: 'gauge', values: replicas.map((r) => ({ labels: labels(r), value: r.jobLeases })) },
    { name: 'relengd_replica_dispatching', help: "1 for the replica whose turn it is to dispatch events to the listeners.", type: 'gauge', values: replicas.map((r) => ({ labels: labels(r), value: r.dispatching ? 1 : 0 })) },
  ];
}

function newest(map: Map<string, number>, key: string, at: number): void {
  if (Number.isFinite(at) && at > (map.get(key) ?? -Infinity)) map.set(key, at);
}

/**
 * Rows ordered by a time column (ISO, so text order is time order), taken once each: the next read
 * starts at the newest time seen, and the rows already taken at exactly that time are skipped.
 */
class TimeCursor {
  at = '';
  #atIds = new Set<string>();

  take<T>(rows: readonly T[], timeOf: (row: T) => string, idOf: (row: T) => string): T[] {
    const fresh = rows.filter((row) => !(timeOf(row) === this.at && this.#atIds.has(idOf(row))));
    for (const row of fresh) {
      const t = timeOf(row);
      if (t > this.at) {
        this.at = t;
        this.#atIds = new Set();
      }
      if (t === this.at) this.#atIds.add(idOf(row));
    }
    return fresh;
  }
}

/** Counts per label set. */
class LabelledCounts {
  readonly #counts = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels): void {
    const key = JSON.stringify(labels);
    const entry = this.#counts.get(key) ?? { labels, value: 0 };
    entry.value++;
    this.#counts.set(key, entry);
  }

  values(): Array<{ labels: Labels; value: number }> {
    return [...this.#counts.values()].map((e) => ({ ...e }));
  }
}

/** A histogram per label set, all with the same buckets. */
class LabelledHistograms {
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, { labels: Labels; histogram: Histogram }>();

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    let entry = this.#series.get(key);
    if (!entry) this.#series.set(key, (entry = { labels, histogram: new Histogram(this.#bounds) }));
    entry.histogram.observe(value);
  }

  series(): Array<{ labels: Labels; histogram: Histogram }> {
    return [...this.#series.values()];
  }
}
