/**
 * Replay on the running daemon, for an operator: first a dry run that says what the replay would
 * do, then, on a second request that confirms that very dry run, the replay itself, recorded as
 * `relengd.replay.performed` with who asked. The same `replayStored` as `relengd replay`, on the
 * daemon's store, between the dispatcher's passes, so it neither races the dispatcher nor reports
 * the effects of unrelated pending events as its own.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import { canonicalJson } from '../events/canonical-json.ts';
import { emittedEventId } from '../events/ids.ts';
import type { ReplayPerformed, ReplaySelectionRecord } from '../events/relengd/replay.ts';
import { splitTopic } from '../events/topics.ts';
import { storeEmitted } from '../store/emit.ts';
import type { StoreApi } from '../store/api.ts';
import type { Dispatcher } from './dispatcher.ts';
import { replayStored, type ReplayReport, type ReplaySelection } from './replay.ts';

/** A selection as an operator gives it: `since`/`until` an ISO time or a duration back from now (`30m`, `6h`, `7d`). */
export interface ReplayRequestSelection {
  since?: string | undefined;
  until?: string | undefined;
  topic?: string | undefined;
  ids?: readonly string[] | undefined;
  correlationId?: string | undefined;
}

/** What a replay would do (a dry run), and the digest a confirming request must carry to perform it. */
export interface ReplayPlan {
  /** The selection resolved: absolute times, bare topic, ids sorted. Send it back with `confirm`. */
  selection: ReplaySelectionRecord;
  report: ReplayReport;
  /** Digest of the selection and of everything the dry run would do. */
  confirm: string;
}

export type PerformOutcome =
  | { kind: 'performed'; selection: ReplaySelectionRecord; report: ReplayReport; recorded: { id: string; correlationId: string } }
  /** The dry run of the selection no longer comes out as the one confirmed: nothing was done; here is the new one. */
  | { kind: 'changed'; plan: ReplayPlan };

export interface OperatorReplay {
  dryRun(selection: ReplayRequestSelection): Promise<ReplayPlan>;
  /** Performs the replay when its dry run, run again now, still digests to `confirm`. `requestId` names this request (the record's cause). */
  perform(selection: ReplayRequestSelection, confirm: string, requestedBy: string, requestId: string): Promise<PerformOutcome>;
}

export interface OperatorReplayOptions {
  store: StoreApi;
  dispatcher: Dispatcher;
  config: Config;
  clock: Clock;
  /** After a replay that enqueued jobs or emitted events: wake the job runner and the outbox, as the dispatcher's own effects do. */
  onEffects: () => void;
}

export const REPLAY_PERFORMED = 'relengd.replay.performed';
const EMITTER = 'operator-replay';
const RECORD_KEY = 'performed';
/** Passes to wait for the dispatcher to have nothing pending before replaying anyway (a bus that never pauses). */
const SETTLE_PASSES = 20;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function createOperatorReplay(o: OperatorReplayOptions): OperatorReplay {
  const { store, dispatcher, config } = o;

  /**
   * Runs `fn` once the dispatcher has drained what was pending: it then dispatches exactly the
   * replay's cascade. The check and `fn` run in one transaction: nothing can interleave with them,
   * as the dispatcher's and the intake's store calls wait until it ends (what the synchronous store
   * guaranteed by blocking). So what `fn` writes commits together, or not at all.
   */
  const betweenDrains = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let pass = 0; ; pass++) {
      await dispatcher.drain();
      const last = pass === SETTLE_PASSES - 1;
      const done = await store.transaction(async () => {
        if (!last && (await store.events.query({ dispatchState: 'pending', limit: 1 })).length > 0) return undefined;
        return { value: await fn() };
      });
      if (done) return done.value;
    }
  };

  const planOf = async (selection: ReplaySelectionRecord): Promise<ReplayPlan> => {
    const report = await replayStored(store, dispatcher, selectionOf(selection), { dryRun: true });
    return { selection, report, confirm: digest(selection, report) };
  };

  return {
    dryRun: (selection) => {
      const resolved = resolveSelection(selection, o.clock.now(), config.topicPrefix);
      return betweenDrains(() => planOf(resolved));
    },
    perform: async (selection, confirm, requestedBy, requestId) => {
      const resolved = resolveSelection(selection, o.clock.now(), config.topicPrefix);
      const outcome = await betweenDrains(async (): Promise<PerformOutcome> => {
        const plan = await planOf(resolved);
        if (plan.confirm !== confirm) return { kind: 'changed', plan };
        const report = await replayStored(store, dispatcher, selectionOf(resolved), { dryRun: false });
        const data: ReplayPerformed = {
          requestedBy,
          selection: resolved,
          selected: report.selected,
          emitted: report.emitted.length,
          enqueued: report.enqueued.length,
          requeued: report.requeued.length,
          promotions: report.promotions,
          confirmed: confirm,
        };
        const now = o.clock.now().toISOString();
        await store.transaction(() => storeEmitted(store, { topic: REPLAY_PERFORMED, key: RECORD_KEY, data }, { causeId: requestId, correlationId: requestId, emitter: EMITTER, topicPrefix: config.topicPrefix, now }));
        return { kind: 'performed', selection: resolved, report, recorded: { id: emittedEventId(requestId, EMITTER, RECORD_KEY), correlationId: requestId } };
      });
      // The record itself goes to the outbox; jobs the replay enqueued or re-queued wait for the runner.
      if (outcome.kind === 'performed') o.onEffects();
      return outcome;
    },
  };
}

/** Absolute times, the bare topic, ids deduplicated and sorted: two requests for the same events resolve alike. */
export function resolveSelection(s: ReplayRequestSelection, now: Date, topicPrefix: string): ReplaySelectionRecord {
  const ids = s.ids && s.ids.length > 0 ? [...new Set(s.ids)].sort() : undefined;
  return {
    ...(s.since !== undefined ? { since: absoluteTime(s.since, now) } : {}),
    ...(s.until !== undefined ? { until: absoluteTime(s.until, now) } : {}),
    ...(s.topic !== undefined ? { topic: splitTopic(s.topic, topicPrefix).name } : {}),
    ...(ids ? { ids } : {}),
    ...(s.correlationId !== undefined ? { correlationId: s.correlationId } : {}),
  };
}

/** An ISO time, or a duration back from `now` (`30m`, `6h`, `7d`); the caller has checked it is one of them. */
function absoluteTime(value: string, now: Date): string {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!).toISOString();
  return new Date(Date.parse(value)).toISOString();
}

function selectionOf(s: ReplaySelectionRecord): ReplaySelection {
  return { since: s.since, until: s.until, topic: s.topic, ids: s.ids, correlationId: s.correlationId };
}

/** What a confirmation stands for: the selection, and each event, job and re-run the dry run found. */
function digest(selection: ReplaySelectionRecord, r: ReplayReport): string {
  const plan = {
    selection,
    selected: r.selected,
    emitted: r.emitted.map((e) => e.id),
    enqueued: r.enqueued.map((j) => j.id),
    requeued: r.requeued.map((j) => [j.id, j.missing]),
  };
  return createHash('sha256').update(canonicalJson(plan)).digest('hex');
}
