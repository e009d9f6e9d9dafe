import type { Envelope } from '../events/envelope.ts';
import { topicMatches } from '../events/topics.ts';
import type { StoredEvent } from '../store/events.ts';
import type { NewJobRow } from '../store/jobs.ts';
import type { StoreApi } from '../store/api.ts';
import type { DispatchObserver, Dispatcher } from './dispatcher.ts';

/** Which stored events to replay; every given criterion must hold. */
export interface ReplaySelection {
  since?: string | undefined;
  until?: string | undefined;
  /** Bare topic or AMQP-style pattern. */
  topic?: string | undefined;
  ids?: readonly string[] | undefined;
  correlationId?: string | undefined;
}

export interface ReplayReport {
  dryRun: boolean;
  /** Stored events the selection matched. */
  selected: number;
  /** Events that did not exist and were (or would be) emitted, cascade included. */
  emitted: Array<{ id: string; topic: string; subject: string | null; listener: string }>;
  /** Jobs that did not exist and were (or would be) enqueued. */
  enqueued: Array<{ id: string; kind: string; queueKey: string }>;
  /** Finished jobs whose outcome events are missing from the store: run again (their executors read results back). */
  requeued: Array<{ id: string; kind: string; queueKey: string; missing: string[] }>;
  /** Of the enqueued jobs, promotions. */
  promotions: number;
}

const PAGE = 1000;

/**
 * Replays stored events through the listeners: what was fully processed stays as it is (derived
 * ids make every decision a duplicate), what is missing is filled in, and finished jobs whose
 * outcome events were lost run again. With `dryRun`, all of it runs in `store.dryRun`: the report
 * says what would happen, the store is left as it was.
 */
export async function replayStored(store: StoreApi, dispatcher: Dispatcher, selection: ReplaySelection, options: { dryRun: boolean }): Promise<ReplayReport> {
  const report: ReplayReport = { dryRun: options.dryRun, selected: 0, emitted: [], enqueued: [], requeued: [], promotions: 0 };
  const observer: DispatchObserver = {
    emitted: (e: Envelope, listener) => void report.emitted.push({ id: e.id, topic: e.topic, subject: e.subject ?? null, listener }),
    enqueued: (job: NewJobRow) => {
      report.enqueued.push({ id: job.id, kind: job.kind, queueKey: job.queueKey });
      if (job.kind === 'promote') report.promotions++;
    },
  };
  const requeueLost = (causes: readonly string[]): Promise<void> =>
    store.transaction(async () => {
      for (const job of await store.jobs.finishedFor(causes)) {
        const missing: string[] = [];
        for (const id of job.emitted) if (!(await store.events.has(id))) missing.push(id);
        if (missing.length === 0) continue;
        await store.jobs.requeue(job.id);
        report.requeued.push({ id: job.id, kind: job.kind, queueKey: job.queueKey, missing });
      }
    });
  const run = async (): Promise<void> => {
    let lastSeq = 0;
    // Only what was stored before the replay started: events it emits are the cascade, run below.
    const maxSeq = (await store.events.query({ limit: 1 }))[0]?.seq ?? 0;
    for (;;) {
      const page = await select(store, selection, lastSeq, maxSeq);
      if (page.scanned === 0) break;
      lastSeq = page.lastSeq;
      report.selected += page.events.length;
      if (page.events.length === 0) continue;
      await dispatcher.replayBatch(page.events, observer);
      await requeueLost(page.events.map((e) => e.envelope.id));
    }
    while ((await dispatcher.dispatchBatch(observer)).dispatched > 0) {
      // the cascade of what the replay emitted
    }
  };
  if (options.dryRun) await store.dryRun(run);
  else await run();
  return report;
}

async function select(store: StoreApi, s: ReplaySelection, afterSeq: number, maxSeq: number): Promise<{ events: StoredEvent[]; scanned: number; lastSeq: number }> {
  const pattern = s.topic && /[*#]/.test(s.topic) ? s.topic : undefined;
  const rows = (
    await store.events.query({ afterSeq, order: 'asc', limit: PAGE, since: s.since, until: s.until, correlationId: s.correlationId, ids: s.ids, topic: pattern ? undefined : s.topic })
  ).filter((e) => e.seq <= maxSeq);
  const events = pattern ? rows.filter((e) => topicMatches(pattern, e.envelope.topic)) : rows;
  return { events, scanned: rows.length, lastSeq: rows.at(-1)?.seq ?? afterSeq };
}
