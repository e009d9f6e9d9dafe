import type { Clock } from '../clock.ts';
import { RelengdError } from '../errors.ts';
import type { Config } from '../config/index.ts';
import type { Envelope } from '../events/envelope.ts';
import { jobId } from '../events/ids.ts';
import { eventFields, type Logger } from '../log.ts';
import { isStoreFailure } from '../store/failures.ts';
import type { StoredEvent } from '../store/events.ts';
import { storeEmitted } from '../store/emit.ts';
import type { NewJobRow } from '../store/jobs.ts';
import type { StoreApi } from '../store/api.ts';
import { type Decision, type Listener, type ListenerContext } from './listener.ts';
import type { Router } from './router.ts';
import { CachedState, StateMiss } from './state-cache.ts';

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
  store: StoreApi;
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
          stats = await this.dispatchBatch();
        } catch (error) {
          // Another replica dispatches now; this one tries again at its next drain (and takes over
          // once that replica's turn lapses).
          if (error instanceof NotDispatching) return total;
          if (!isStoreFailure(error)) throw error;
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
  async dispatchBatch(observer?: DispatchObserver): Promise<DispatchStats> {
    // Read in the batch's transaction, after the turn is taken: a replica that lost its turn and got
    // it back must not dispatch what it read before, which another may have dispatched meanwhile.
    return this.#run(() => this.#o.store.events.pending(this.#o.batchSize), observer);
  }

  /**
   * Runs stored events through the listeners again (replay). Decisions only add what is missing:
   * emitted events and jobs keep their derived ids, so what exists is not added twice. An event that
   * was dispatched before does not re-apply its state changes (state already holds their effect; a
   * stale change would rewind it, e.g. mark a long-finished compose as running); an event never
   * dispatched (pending, or failed in a listener since fixed) is dispatched in full.
   */
  replayBatch(events: readonly StoredEvent[], observer?: DispatchObserver): Promise<DispatchStats> {
    return this.#run(() => Promise.resolve(events), observer, true);
  }

  /**
   * Several replicas on one store: only the one whose turn it is dispatches (./store/api.ts
   * ReplicaCoordination). Taken inside the batch's transaction, so the turn is held until the batch
   * commits, and a lapsed turn commits nothing.
   * @throws NotDispatching when another replica holds the turn
   */
  async #takeTurn(): Promise<void> {
    const { replicas } = this.#o.store;
    if (!replicas) return;
    if (!(await replicas.takeDispatchTurn())) throw new NotDispatching();
    await replicas.assertDispatchTurn();
  }

  async #run(load: () => Promise<readonly StoredEvent[]>, observer: DispatchObserver | undefined, replay = false): Promise<DispatchStats> {
    const { store } = this.#o;
    const stats: DispatchStats = { dispatched: 0, emitted: 0, jobs: 0, failed: 0 };
    // One batch's listener state: each value read and parsed once, until written or an event's
    // savepoint is undone (a replay of a day of Bodhi pushes reads the day's version counter once).
    const state = new CachedState(store);
    await store.transaction(async () => {
      await this.#takeTurn();
      const events = await load();
      for (const event of events) {
        if (event.unreadable) {
          // Nothing can make a corrupt row readable on retry: park it at once, with why.
          stats.failed++;
          await store.events.markDispatchFailed(event, event.unreadable, 1);
          this.#log.error({ msgId: event.envelope.id, seq: event.seq, detail: event.unreadable }, 'unreadable event parked as failed');
          continue;
        }
        const applyState = !(replay && event.dispatchState === 'done');
        // Without state changes to apply, what each listener decides does not depend on what the
        // others' decisions write: decide first, and write (in a savepoint) only when there is
        // something to write. Most of a replay has nothing: no savepoint, no awaits.
        let decided = applyState ? undefined : this.#decideAll(event, state);
        if (decided instanceof Promise) decided = await decided;
        if (decided?.every((d) => d.emit.length === 0 && d.jobs.length === 0)) {
          stats.dispatched++;
          this.#log.debug({ ...eventFields(event.envelope), listeners: decided.length, emitted: 0, jobs: 0 }, 'dispatched');
          continue;
        }
        try {
          const done = await store.savepoint(() => this.#dispatchOne(event, state, applyState, observer, decided));
          stats.dispatched++;
          stats.emitted += done.emitted;
          stats.jobs += done.jobs;
        } catch (error) {
          // The store failing is no fault of this event: fail the whole batch, to be retried later.
          if (isStoreFailure(error)) throw error;
          // Listeners are pure: the same event and state fail the same way again, so park it at once
          // (replay it after a fix) rather than retry.
          stats.failed++;
          // Its savepoint undid what it wrote: what was read since may be stale.
          state.forget();
          const message = error instanceof Error ? error.message : String(error);
          await store.events.markDispatchFailed(event, message, 1);
          this.#log.error({ ...eventFields(event.envelope), err: error }, 'listener failed; event parked as failed');
        }
      }
    });
    return stats;
  }

  /** `decided`: the listeners' decisions when made already (by {@link #decideAll}). */
  async #dispatchOne(event: StoredEvent, state: CachedState, applyState: boolean, observer: DispatchObserver | undefined, decided?: readonly Decision[]): Promise<{ emitted: number; jobs: number }> {
    const { store, router, config, clock } = this.#o;
    const env = event.envelope;
    const now = clock.now().toISOString();
    let emitted = 0;
    let jobs = 0;
    const listeners = env.known ? router.match(env.topic) : [];
    const context: ListenerContext = { config, state };
    for (const [i, listener] of listeners.entries()) {
      // Each listener decides, then its decision is applied, before the next one decides (which
      // reads what this one wrote).
      let decision = decided?.[i] ?? decide(listener, env, context, state);
      if (decision instanceof Promise) decision = await decision;
      if (decision.emit.length > 0) emitted += await this.#applyEmits(env, listener, decision, now, observer);
      if (decision.jobs.length > 0) jobs += await this.#applyJobs(env, listener, decision, now, observer);
      if (applyState) for (const patch of decision.patches) await state.put(patch.namespace, patch.key, patch.value, now, listener.name);
    }
    // A replayed event keeps its dispatch record: replay of a fully processed history writes nothing.
    if (applyState) await store.events.markDispatched(event.seq, now);
    this.#log.debug({ ...eventFields(env), listeners: listeners.length, emitted, jobs }, 'dispatched');
    return { emitted, jobs };
  }

  /** Every listener's decision on `event`, from `state` as it is; undefined when a listener throws (the full dispatch then fails the event as it does). */
  #decideAll(event: StoredEvent, state: CachedState): Decision[] | undefined | Promise<Decision[] | undefined> {
    const { router, config } = this.#o;
    const env = event.envelope;
    const listeners = env.known ? router.match(env.topic) : [];
    const context: ListenerContext = { config, state };
    const decisions: Decision[] = [];
    // Synchronous until a listener reads state not read yet: no await per event in a replay.
    const from = (start: number): Decision[] | undefined | Promise<Decision[] | undefined> => {
      for (let i = start; i < listeners.length; i++) {
        let decision: Decision | Promise<Decision>;
        try {
          decision = decide(listeners[i]!, env, context, state);
        } catch {
          return undefined;
        }
        if (decision instanceof Promise) {
          return decision.then(
            (d) => (decisions.push(d), from(i + 1)),
            () => undefined,
          );
        }
        decisions.push(decision);
      }
      return decisions;
    };
    return from(0);
  }

  async #applyEmits(cause: Envelope, listener: Listener, decision: Decision, now: string, observer: DispatchObserver | undefined): Promise<number> {
    let count = 0;
    for (const emit of decision.emit) {
      const ctx = { causeId: cause.id, correlationId: cause.correlationid, emitter: listener.name, topicPrefix: this.#o.config.topicPrefix, now };
      const stored = await storeEmitted(this.#o.store, emit, ctx);
      if (stored) {
        count++;
        observer?.emitted?.(stored, listener.name);
        this.#log.info({ ...eventFields(stored), causationId: cause.id, listener: listener.name }, 'emitted');
      }
    }
    return count;
  }

  async #applyJobs(cause: Envelope, listener: Listener, decision: Decision, now: string, observer: DispatchObserver | undefined): Promise<number> {
    let count = 0;
    for (const job of decision.jobs) {
      const id = jobId(cause.id, listener.name, job.key);
      const row = { id, kind: job.kind, queueKey: job.queueKey, spec: job.spec, causeEventId: cause.id, correlationId: cause.correlationid, listener: listener.name };
      if (await this.#o.store.jobs.insert(row, now)) {
        count++;
        observer?.enqueued?.(row);
        this.#log.info({ ...eventFields(cause), jobId: id, kind: job.kind, listener: listener.name }, 'job enqueued');
      }
    }
    return count;
  }
}

/**
 * A listener's decision. A read of state not read yet (StateMiss) reads it and runs the listener
 * again: it is pure, and nothing of its discarded attempt was applied. Synchronous unless it misses.
 */
function decide(listener: Listener, event: Envelope, context: ListenerContext, state: CachedState): Decision | Promise<Decision> {
  try {
    return listener.handle(event, context);
  } catch (error) {
    if (!(error instanceof StateMiss)) throw error;
    return state.fill(error).then(() => decide(listener, event, context, state));
  }
}

/** Another replica holds the dispatcher's turn: nothing was dispatched here. */
export class NotDispatching extends RelengdError {
  constructor() {
    super("another replica holds the dispatcher's turn: replay on that replica (relengd status names the one dispatching; POST /replay to it), or when no replica runs", { retriable: true });
  }
}

function addStats(into: DispatchStats, add: DispatchStats): void {
  into.dispatched += add.dispatched;
  into.emitted += add.emitted;
  into.jobs += add.jobs;
  into.failed += add.failed;
}
