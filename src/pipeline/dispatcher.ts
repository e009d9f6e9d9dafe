import type { Clock } from '../clock.ts';
import type { Config } from '../config/index.ts';
import type { Envelope } from '../events/envelope.ts';
import { jobId } from '../events/ids.ts';
import { eventFields, type Logger } from '../log.ts';
import { isStoreError } from '../store/database.ts';
import type { StoredEvent } from '../store/events.ts';
import { storeEmitted } from '../store/emit.ts';
import type { NewJobRow } from '../store/jobs.ts';
import type { Store } from '../store/store.ts';
import { type Decision, type Listener, type ListenerContext, type StateView } from './listener.ts';
import type { Router } from './router.ts';

export interface DispatchStats {
  dispatched: number;
  emitted: number;
  jobs: number;
  failed: number;
}

/** What dispatching decided, for callers that report it (replay, dry runs). */
export interface DispatchObserver {
  emitted?(envelope: Envelope, listener: string): void;
  enqueued?(job: NewJobRow): void;
}

export interface DispatcherOptions {
  store: Store;
  router: Router;
  config: Config;
  clock: Clock;
  logger: Logger;
  /** Events per transaction while draining a backlog. */
  batchSize?: number;
  /** Called after a batch committed new jobs or outbox rows. */
  onEffects?: (stats: DispatchStats) => void;
}

/**
 * Runs stored events through the listeners. Each event and everything decided from it (emitted
 * events, outbox rows, jobs, state) commit together; events emitted here are stored as pending
 * and dispatched by the same loop, so relengd's own events reach its own listeners from the store.
 */
export class Dispatcher {
  readonly #o: Required<Omit<DispatcherOptions, 'onEffects'>> & Pick<DispatcherOptions, 'onEffects'>;
  readonly #log: Logger;
  #running: Promise<DispatchStats> | null = null;
  #again = false;

  constructor(options: DispatcherOptions) {
    this.#o = { batchSize: 500, ...options };
    this.#log = options.logger.child({ component: 'pipeline' });
  }

  /** Asks for a drain soon; calls made while one runs fold into one more pass. */
  schedule(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.drain().catch((error: unknown) => this.#log.error({ err: error }, 'dispatcher drain failed'));
  }

  /** Dispatches every pending event, yielding to the event loop between batches. */
  drain(): Promise<DispatchStats> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = this.#drainLoop();
    this.#running = run;
    // Chained, not inside the loop: a drain that finishes synchronously must still clear the flag.
    void run.finally(() => {
      if (this.#running === run) this.#running = null;
    }).catch(() => undefined);
    return run;
  }

  async #drainLoop(): Promise<DispatchStats> {
    const total: DispatchStats = { dispatched: 0, emitted: 0, jobs: 0, failed: 0 };
    do {
      this.#again = false;
      for (;;) {
        let stats: DispatchStats;
        try {
          stats = this.dispatchBatch();
        } catch (error) {
          if (!isStoreError(error)) throw error;
          // The batch was rolled back and its events are still pending: the next drain (the daemon
          // polls every 2 s) takes them again, as the intake retries a batch the store refused.
          this.#log.warn({ err: error }, 'store failed during dispatch; the batch stays pending for the next drain');
          return total;
        }
        if (stats.dispatched + stats.failed === 0) break;
        addStats(total, stats);
        if (stats.emitted + stats.jobs > 0) this.#o.onEffects?.(stats);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } while (this.#again);
    return total;
  }

  /** One transaction over the oldest pending events. */
  dispatchBatch(observer?: DispatchObserver): DispatchStats {
    return this.#run(this.#o.store.events.pending(this.#o.batchSize), observer);
  }

  /**
   * Runs stored events through the listeners again (replay). Decisions only add what is missing:
   * emitted events and jobs keep their derived ids, so what exists is not added twice. An event that
   * was dispatched before does not re-apply its state changes (state already holds their effect; a
   * stale change would rewind it, e.g. mark a long-finished compose as running); an event never
   * dispatched (pending, or failed in a listener since fixed) is dispatched in full.
   */
  replayBatch(events: readonly StoredEvent[], observer?: DispatchObserver): DispatchStats {
    return this.#run(events, observer, true);
  }

  #run(events: readonly StoredEvent[], observer: DispatchObserver | undefined, replay = false): DispatchStats {
    const { store } = this.#o;
    const stats: DispatchStats = { dispatched: 0, emitted: 0, jobs: 0, failed: 0 };
    const state = new BatchState(store);
    store.transaction(() => {
      for (const event of events) {
        if (event.unreadable) {
          // Nothing can make a corrupt row readable on retry: park it at once, with why.
          stats.failed++;
          store.events.markDispatchFailed(event, event.unreadable, 1);
          this.#log.error({ msgId: event.envelope.id, seq: event.seq, detail: event.unreadable }, 'unreadable event parked as failed');
          continue;
        }
        try {
          const applyState = !(replay && event.dispatchState === 'done');
          const done = store.savepoint(() => this.#dispatchOne(event, state, applyState, observer));
          stats.dispatched++;
          stats.emitted += done.emitted;
          stats.jobs += done.jobs;
        } catch (error) {
          // The store failing is no fault of this event: fail the whole batch, to be retried later.
          if (isStoreError(error)) throw error;
          // Listeners are pure: the same event and state fail the same way again, so park it at once
          // (replay it after a fix) rather than retry.
          stats.failed++;
          // Its savepoint undid what it wrote: what was read since may be stale.
          state.forget();
          const message = error instanceof Error ? error.message : String(error);
          store.events.markDispatchFailed(event, message, 1);
          this.#log.error({ ...eventFields(event.envelope), err: error }, 'listener failed; event parked as failed');
        }
      }
    });
    return stats;
  }

  #dispatchOne(event: StoredEvent, state: BatchState, applyState: boolean, observer: DispatchObserver | undefined): { emitted: number; jobs: number } {
    const { store, router, config, clock } = this.#o;
    const env = event.envelope;
    const now = clock.now().toISOString();
    let emitted = 0;
    let jobs = 0;
    const listeners = env.known ? router.match(env.topic) : [];
    const context: ListenerContext = { config, state };
    for (const listener of listeners) {
      const decision = listener.handle(env, context);
      emitted += this.#applyEmits(env, listener, decision, now, observer);
      jobs += this.#applyJobs(env, listener, decision, now, observer);
      if (applyState) for (const patch of decision.patches) state.put(patch.namespace, patch.key, patch.value, now, listener.name);
    }
    // A replayed event keeps its dispatch record: replay of a fully processed history writes nothing.
    if (applyState) store.events.markDispatched(event.seq, now);
    this.#log.debug({ ...eventFields(env), listeners: listeners.length, emitted, jobs }, 'dispatched');
    return { emitted, jobs };
  }

  #applyEmits(cause: Envelope, listener: Listener, decision: Decision, now: string, observer: DispatchObserver | undefined): number {
    let count = 0;
    for (const emit of decision.emit) {
      const ctx = { causeId: cause.id, correlationId: cause.correlationid, emitter: listener.name, topicPrefix: this.#o.config.topicPrefix, now };
      const stored = storeEmitted(this.#o.store, emit, ctx);
      if (stored) {
        count++;
        observer?.emitted?.(stored, listener.name);
        this.#log.info({ ...eventFields(stored), causationId: cause.id, listener: listener.name }, 'emitted');
      }
    }
    return count;
  }

  #applyJobs(cause: Envelope, listener: Listener, decision: Decision, now: string, observer: DispatchObserver | undefined): number {
    let count = 0;
    for (const job of decision.jobs) {
      const id = jobId(cause.id, listener.name, job.key);
      const row = { id, kind: job.kind, queueKey: job.queueKey, spec: job.spec, causeEventId: cause.id, correlationId: cause.correlationid, listener: listener.name };
      if (this.#o.store.jobs.insert(row, now)) {
        count++;
        observer?.enqueued?.(row);
        this.#log.info({ ...eventFields(cause), jobId: id, kind: job.kind, listener: listener.name }, 'job enqueued');
      }
    }
    return count;
  }
}

/**
 * Listener state as one batch's listeners read it: each value is read and parsed once, until it is
 * written or an event's savepoint is undone (a replay of a day of Bodhi pushes reads the day's
 * version counter once, not once per push). Listeners are pure and never change what they read.
 */
class BatchState implements StateView {
  readonly #store: Store;
  readonly #read = new Map<string, unknown>();

  constructor(store: Store) {
    this.#store = store;
  }

  get(namespace: string, key: string): unknown {
    const id = `${namespace}\u0000${key}`;
    if (this.#read.has(id)) return this.#read.get(id);
    const value = this.#store.state.get(namespace, key);
    this.#read.set(id, value);
    return value;
  }

  list(namespace: string): Array<{ key: string; value: unknown }> {
    return this.#store.state.list(namespace);
  }

  put(namespace: string, key: string, value: unknown, at: string, by: string): void {
    this.#store.state.put(namespace, key, value, at, by);
    this.#read.delete(`${namespace}\u0000${key}`);
  }

  forget(): void {
    this.#read.clear();
  }
}

function addStats(into: DispatchStats, add: DispatchStats): void {
  into.dispatched += add.dispatched;
  into.emitted += add.emitted;
  into.jobs += add.jobs;
  into.failed += add.failed;
}
