import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { isRetriable, retry, sleep, type RetryPolicy } from '../retry.ts';
import { RelengdError } from '../errors.ts';
import { LeaseLostError } from '../store/failures.ts';
import { emittedEventId } from '../events/ids.ts';
import type { StoreApi } from '../store/api.ts';
import { storeEmitted } from '../store/emit.ts';
import { JOB_CONTROL, type JobControlRequest, type JobRow } from '../store/jobs.ts';
import { cancelReason, controlOutcome, decideControl, JobCancelledError, pendingControlRequests, runKey } from './control.ts';
import { JobInterruptedError, type Executor, type JobContext, type JobEmit, type JobOutcome } from './executor.ts';
import { awaitPreviousAttempt } from './previous-attempt.ts';
import { DEFAULT_KILL_GRACE_MS, LOG_MARKER } from './process.ts';

export interface JobRunnerOptions {
  store: StoreApi;
  /** One per job kind. */
  executors: readonly Executor[];
  /** Jobs run at once (`jobs.concurrency`); jobs sharing a queue key run one at a time regardless. */
  concurrency: number;
  /** Root of the job directories (`jobs.workdir`): each job works in `<workdir>/<job id>`. */
  workdir: string;
  /** A job's time budget (`jobs.timeoutMinutes`), handed to executors as `ctx.timeoutMs`. */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** Deployment prefix of the topics of the events jobs emit (`topicPrefix`). */
  topicPrefix: string;
  /** Called after a job's final state and its events committed: time to dispatch them. */
  onFinished?: (() => void) | undefined;
  /** How often the store is checked for jobs inserted by another process. @default 1000 */
  pollMs?: number | undefined;
  /** SIGTERM to SIGKILL, for a previous attempt's command still running at recovery. @default 10000 */
  killGraceMs?: number | undefined;
  /** Backoff between attempts to record a job's result while the store refuses the write. @default {@link RECORD_RETRY} */
  recordRetry?: RetryPolicy | undefined;
}

/** The log every attempt of a job appends to, in the job's directory. */
export const JOB_LOG = 'job.log';

/**
 * Backoff for recording a job's result while the store refuses the write (locked past its busy
 * timeout, disk full): tried until it succeeds or the runner stops, because a job left `running`
 * in the store holds its queue key until the next start. Rejected event data is not retried.
 */
export const RECORD_RETRY: RetryPolicy = { initialMs: 200, maxMs: 30_000, factor: 2, jitter: 0.2, maxAttempts: Infinity };

type FinalState = 'succeeded' | 'failed' | 'interrupted' | 'cancelled';
type FinalOutcome = { state: FinalState; result?: unknown; error?: string | undefined; emit: JobOutcome['emit'] };
/** What #record may still try when the store refuses an outcome's events: the executor's failure events, or nothing more. */
type RecordFallback = 'failure-events' | 'nothing';

/**
 * Runs queued jobs with their executors, at most `concurrency` at once (jobs that only wait, such as
 * for a signature, aside: `Executor.waits`) and one at a time per queue key (oldest first, as
 * `JobsApi.claimNext` picks them). A job's final state and the events its
 * executor emitted commit in one transaction, so a result is never half-recorded.
 *
 * A result the store refuses is recorded again with backoff until it is: meanwhile the job still
 * counts as running here and stays `running` in the store, so no other job of its queue key starts.
 *
 * Interruptions: `stop()` aborts running jobs (their commands get SIGTERM, then SIGKILL) and records
 * them `interrupted`; a crash leaves them `running`. `start()` requeues both, and their next attempt
 * runs with `recovering: true` (an attempt recovers whenever the job was claimed before: the
 * attempt counter, kept in the store, survives a crash during recovery too). Only one runner may
 * work on a store: `start()` takes every `running` job for a leftover of a dead process.
 *
 * Logs: `<workdir>/<job id>/job.log` holds all attempts; each begins with an attempt header line,
 * and each command `runCommand` runs adds a header and a footer.
 *
 * Operators' retries and cancels (accepted commands, left in listener state by the job-control
 * listener) are applied before each claim: a failed or cancelled job is queued again; a queued one
 * is recorded cancelled and never starts; a running one has its signal aborted (its command's
 * process group gets SIGTERM, then SIGKILL) and is recorded cancelled when its attempt ends. A
 * cancelled job emits its kind's failure events, with "cancelled by <who>" as the error, so the
 * pipeline treats it as it treats a failure. Each request ends in an event saying what came of it.
 */
export class JobRunner {
  readonly #o: JobRunnerOptions & { pollMs: number; killGraceMs: number; recordRetry: RetryPolicy };
  readonly #log: Logger;
  readonly #executors = new Map<string, Executor>();
  readonly #shutdown = new AbortController();
  readonly #running = new Map<string, Promise<void>>();
  /** Kinds whose executor only waits (`Executor.waits`), and the running jobs of those kinds: neither takes a slot. */
  readonly #waitingKinds: string[] = [];
  readonly #waiting = new Set<string>();
  /** Aborts one running job (an operator's cancel), by job id. */
  readonly #cancels = new Map<string, AbortController>();
  /** Running jobs being cancelled: the request is kept in the store until the cancel is recorded (a crash meanwhile applies it again at the next start). */
  readonly #stopping = new Map<string, { key: string; request: JobControlRequest }>();
  /** Running jobs the last lease renewal did not keep (several replicas); a second miss ends them. */
  readonly #unrenewed = new Set<string>();
  /** Running jobs another replica took over: stopped here, their outcome not recorded. */
  readonly #takenOver = new Set<string>();
  #phase: 'new' | 'starting' | 'started' | 'stopped' = 'new';
  #poll: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];
  #stopped: Promise<void> | undefined;
  /** The claim loop in progress: one at a time, so the slot count it reads is not stale while a claim awaits the store. */
  #filling: Promise<void> | undefined;
  /** Asked to fill again while a fill ran: it runs once more before it resolves. */
  #fillAgain = false;

  constructor(options: JobRunnerOptions) {
    if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) throw new RangeError(`JobRunner: concurrency must be a positive integer, got ${options.concurrency}`);
    for (const executor of options.executors) {
      if (this.#executors.has(executor.kind)) throw new RangeError(`JobRunner: two executors for job kind ${JSON.stringify(executor.kind)}`);
      this.#executors.set(executor.kind, executor);
      if (executor.waits) this.#waitingKinds.push(executor.kind);
    }
    this.#o = { pollMs: 1000, killGraceMs: DEFAULT_KILL_GRACE_MS, ...options, recordRetry: options.recordRetry ?? RECORD_RETRY };
    this.#log = options.logger.child({ component: 'jobs' });
  }

  /**
   * Requeues the jobs a previous process left `running` (crash) or `interrupted` (shutdown), then
   * starts claiming. Calling it again does nothing.
   * @returns the ids of the requeued jobs, once the jobs that can run at once are claimed.
   */
  async start(): Promise<{ requeued: string[] }> {
    if (this.#phase !== 'new') return { requeued: [] };
    this.#phase = 'starting';
    let requeued: string[];
    try {
      requeued = await this.#recover();
    } catch (error) {
      if (this.#phase === 'starting') this.#phase = 'new';
      throw error;
    }
    if (this.#phase !== 'starting') return { requeued }; // stopped meanwhile
    this.#phase = 'started';
    this.#poll = setInterval(() => void this.#fill(), this.#o.pollMs).unref();
    this.#log.info({ concurrency: this.#o.concurrency, kinds: [...this.#executors.keys()], requeued: requeued.length }, 'job runner started');
    await this.#fill();
    return { requeued };
  }

  /**
   * Claims what can run now (the dispatcher enqueued jobs). Does nothing before `start()` or after `stop()`.
   * @returns when those jobs are claimed (launched, not finished); never rejects, so a caller need not wait.
   */
  kick(): Promise<void> {
    return this.#fill();
  }

  /** Jobs this runner is running now. */
  /**
   * Several replicas: the running jobs whose lease this replica's last renewal kept. A job missing
   * from two renewals in a row (one claimed during a renewal misses at most one) lost its lease to
   * another replica, which runs it now (this replica paused or lost its connection past the lease):
   * it is stopped here, so the repository sees one run, and its outcome is the other run's.
   */
  leasesRenewed(renewed: readonly string[]): void {
    const kept = new Set(renewed);
    for (const id of [...this.#unrenewed]) if (!this.#running.has(id) || kept.has(id)) this.#unrenewed.delete(id);
    for (const id of this.#running.keys()) {
      if (kept.has(id) || this.#takenOver.has(id)) continue;
      if (!this.#unrenewed.has(id)) {
        this.#unrenewed.add(id);
        continue;
      }
      this.#unrenewed.delete(id);
      this.#takenOver.add(id);
      this.#log.warn({ jobId: id }, "this replica's lease on the job lapsed and another replica runs it now: stopping it here");
      this.#cancels.get(id)?.abort(new JobTakenOverError(id, new LeaseLostError(`job ${id}`, 'this replica')));
    }
  }

  runningCount(): number {
    return this.#running.size;
  }

  /**
   * Resolves when no job is running and none is claimable: every queued job waits for a queue key
   * held by another process, or there is none. Before `start()` and after `stop()`, resolves as soon
   * as nothing runs (no job will be claimed then).
   */
  async idle(): Promise<void> {
    await this.#fill();
    if (this.#running.size === 0) return;
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops claiming and aborts running jobs; each is recorded `interrupted` and re-run at the next
   * start. Resolves when they have ended, or after `graceMs` (then those still running are recorded
   * `interrupted` anyway, and whatever they finish with later is not kept).
   * @param options.graceMs default 15000: more than a command's SIGTERM-to-SIGKILL wait.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.graceMs ?? 15_000);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#phase = 'stopped';
    clearInterval(this.#poll);
    this.#shutdown.abort(new JobInterruptedError());
    // A claim in progress ends first: the job it claims is recorded interrupted, or launched before this waits for it.
    await this.#filling;
    const waiting = this.#running.size;
    const timer = new AbortController();
    const inTime = await Promise.race([Promise.allSettled(this.#running.values()).then(() => true), sleep(graceMs, timer.signal).then(() => false)]);
    timer.abort();
    if (!inTime) {
      const now = this.#o.clock.now().toISOString();
      for (const id of this.#running.keys()) {
        try {
          await this.#o.store.jobs.finish(id, { state: 'interrupted', error: 'still running at shutdown; re-run at the next start' }, now);
          this.#log.warn({ jobId: id, graceMs }, 'job did not end within the grace period; recorded interrupted');
        } catch (error) {
          // Left `running` in the store: the next start requeues it all the same.
          this.#log.error({ jobId: id, graceMs, err: error }, 'job did not end within the grace period and could not be recorded interrupted; the next start re-runs it');
        }
      }
    }
    this.#log.info({ interrupted: waiting }, 'job runner stopped');
    this.#resolveIdle();
  }

  async #recover(): Promise<string[]> {
    const { store } = this.#o;
    const requeued = await store.transaction(async () => {
      const ids: JobRow[] = [];
      // Until a batch brings no job not seen yet: on PostgreSQL, jobs other replicas run under a live
      // lease stay running (left alone), so listing until none is left would spin until they ended.
      // A job that ended between the list and the requeue is left ended (not run again).
      const seen = new Set<string>();
      for (const state of ['running', 'interrupted'] as const) {
        for (;;) {
          const batch = (await store.jobs.list({ state, limit: 500 })).filter((job) => !seen.has(job.id));
          if (batch.length === 0) break;
          for (const job of batch) {
            seen.add(job.id);
            if (await store.jobs.requeueUnfinished(job.id)) ids.push(job);
          }
        }
      }
      return ids;
    });
    for (const job of requeued) this.#log.info({ ...jobFields(job), state: job.state }, 'job interrupted earlier; requeued');
    return requeued.map((j) => j.id);
  }

  /**
   * Applies operators' retries and cancels, then claims and launches jobs while there is room. One
   * fill runs at a time; a call during one makes it run once more. Never rejects.
   * @returns when the fill (and any asked for meanwhile) is done.
   */
  #fill(): Promise<void> {
    if (this.#filling) {
      this.#fillAgain = true;
      return this.#filling;
    }
    const filling = (async () => {
      do {
        this.#fillAgain = false;
        try {
          await this.#fillOnce();
        } catch (error) {
          // #fillOnce handles the store's refusals itself: this is a bug, logged rather than left to a caller that does not wait.
          this.#log.error({ err: error }, 'filling the job slots failed; trying again at the next poll');
        }
      } while (this.#fillAgain);
    })().finally(() => (this.#filling = undefined));
    this.#filling = filling;
    return filling;
  }

  async #fillOnce(): Promise<void> {
    if (this.#phase === 'started') {
      await this.#applyControl();
      while (this.#phase === 'started') {
        // Jobs that only wait (Executor.waits) take no slot: with every slot taken, only they are claimed.
        const full = this.#running.size - this.#waiting.size >= this.#o.concurrency;
        if (full && this.#waitingKinds.length === 0) break;
        let job: JobRow | undefined;
        try {
          job = await this.#claim(full ? this.#waitingKinds : undefined);
        } catch (error) {
          // Store busy beyond its timeout (another process writing): the next poll tries again.
          this.#log.error({ err: error }, 'claiming a job failed; trying again at the next poll');
          break;
        }
        if (!job) break;
        if (this.#phase !== 'started') {
          await this.#unclaim(job);
          break;
        }
        this.#launch(job);
      }
    }
    // A fill asked for meanwhile may claim a job yet: idle only once none is.
    if (this.#running.size === 0 && !this.#fillAgain) this.#resolveIdle();
  }

  #claim(onlyKinds?: readonly string[]): Promise<JobRow | undefined> {
    const { store, clock } = this.#o;
    return store.transaction(() => store.jobs.claimNext(clock.now().toISOString(), (job) => join(this.#jobDir(job.id), JOB_LOG), onlyKinds));
  }

  /** A job claimed as the runner stopped: recorded interrupted without running, as a job stopped at once would be. */
  async #unclaim(job: JobRow): Promise<void> {
    try {
      await this.#o.store.jobs.finish(job.id, { state: 'interrupted', error: 'interrupted by shutdown; re-run at the next start' }, this.#o.clock.now().toISOString());
    } catch (error) {
      // Left `running` in the store: the next start requeues it all the same.
      this.#log.error({ ...jobFields(job), err: error }, 'a job claimed as the runner stopped could not be recorded interrupted; the next start re-runs it');
    }
  }

  #launch(job: JobRow): void {
    const cancel = new AbortController();
    this.#cancels.set(job.id, cancel);
    if (this.#waitingKinds.includes(job.kind)) this.#waiting.add(job.id);
    const done = this.#attempt(job, cancel.signal)
      .catch((error: unknown) => this.#log.error({ ...jobFields(job), err: error }, 'job attempt crashed'))
      .finally(() => {
        this.#waiting.delete(job.id);
        this.#running.delete(job.id);
        this.#cancels.delete(job.id);
        this.#stopping.delete(job.id);
        this.#takenOver.delete(job.id);
        void this.#fill();
      });
    this.#running.set(job.id, done);
  }

  /** Applies the pending retry and cancel requests, oldest first; one that fails is tried again at the next poll. */
  async #applyControl(): Promise<void> {
    let requests: Awaited<ReturnType<typeof pendingControlRequests>>;
    try {
      requests = await pendingControlRequests(this.#o.store);
    } catch (error) {
      this.#log.error({ err: error }, 'reading retry and cancel requests failed; trying again at the next poll');
      return;
    }
    let applied = 0;
    for (const { key, request } of requests) {
      if (this.#stopping.has(request.jobId)) continue; // being cancelled: decided once its attempt ends
      try {
        if (await this.#applyRequest(key, request)) applied++;
      } catch (error) {
        this.#log.error({ err: error, jobId: request.jobId, action: request.action, commandId: request.commandId }, 'applying a job request failed; trying again at the next poll');
      }
    }
    if (applied > 0) this.#finished(this.#log);
  }

  /** @returns true when the request was recorded (its outcome event stored), false while a running job is being stopped. */
  async #applyRequest(key: string, request: JobControlRequest): Promise<boolean> {
    const { store, clock } = this.#o;
    const fields = { jobId: request.jobId, action: request.action, requestedBy: request.requestedBy, commandId: request.commandId };
    const decision = await store.transaction(async () => {
      const decided = decideControl(request, await store.jobs.get(request.jobId), this.#cancels.has(request.jobId));
      const now = clock.now().toISOString();
      switch (decided.action) {
        case 'stop':
          break;
        case 'refuse':
          await this.#recordControl(key, request, controlOutcome(request, { refused: decided.job, reason: decided.reason }), now);
          break;
        case 'retry':
          await store.jobs.retry(decided.job.id);
          await this.#recordControl(key, request, controlOutcome(request, { retried: decided.job }), now);
          break;
        case 'cancel': {
          const reason = cancelReason(request);
          const was = decided.job.state === 'interrupted' ? 'interrupted' : 'queued';
          await this.#writeOutcome(decided.job, { state: 'cancelled', error: reason, emit: this.#failureEvents(decided.job, reason, this.#log) }, now);
          await this.#recordControl(key, request, controlOutcome(request, { cancelled: decided.job, was }), now);
          break;
        }
      }
      return decided;
    });
    if (decision.action === 'stop') {
      // Its attempt ended while the store was read: the request is decided again at the next fill.
      if (!this.#cancels.has(request.jobId)) return false;
      this.#stopping.set(request.jobId, { key, request });
      this.#cancels.get(request.jobId)?.abort(new JobCancelledError(cancelReason(request)));
      this.#log.warn(fields, 'cancelling a running job: its command gets SIGTERM, then SIGKILL');
      return false;
    }
    if (decision.action === 'refuse') this.#log.warn({ ...fields, reason: decision.reason }, 'job request refused');
    else this.#log.info(fields, decision.action === 'retry' ? 'job queued again' : 'queued job cancelled');
    return true;
  }

  /** Marks a request done and stores the event saying what came of it (inside the caller's transaction). */
  async #recordControl(key: string, request: JobControlRequest, outcome: JobEmit, now: string): Promise<void> {
    const { store, topicPrefix } = this.#o;
    await store.state.put(JOB_CONTROL, key, null, now, 'job-runner');
    await storeEmitted(store, outcome, { causeId: request.commandId, correlationId: request.correlationId, emitter: 'job-runner', topicPrefix, now });
  }

  async #attempt(job: JobRow, cancelled: AbortSignal): Promise<void> {
    const started = performance.now();
    const log = this.#log.child(jobFields(job));
    const recovering = job.attempts > 1;
    const signal = AbortSignal.any([this.#shutdown.signal, cancelled]);
    let outcome: JobOutcome;
    // An outcome made of the executor's failure events gets no second set of them if they are refused.
    let fallback: RecordFallback = 'failure-events';
    try {
      outcome = await this.#execute(job, recovering, signal, log);
    } catch (error) {
      outcome = { state: 'failed', error: messageOf(error), emit: this.#failureEvents(job, messageOf(error), log) };
      fallback = 'nothing';
      if (!signal.aborted) log.error({ err: error }, 'executor threw');
    }
    const durationMs = Math.round(performance.now() - started);
    if (this.#takenOver.has(job.id)) {
      // Not this replica's job any more: whatever the stopped executor made of it is not the outcome.
      log.info({ durationMs, state: 'taken-over' }, 'job ended here; another replica runs it');
      return;
    }
    if (this.#shutdown.signal.aborted) {
      // Whatever the executor made of the abort (a cancelled command is not a failed compose): run it
      // again. An operator's cancel still pending is applied at the next start, before it runs.
      await this.#record(job, { state: 'interrupted', error: 'interrupted by shutdown; re-run at the next start', emit: [] }, log);
      log.info({ durationMs, state: 'interrupted' }, 'job ended');
      return;
    }
    const stopping = this.#stopping.get(job.id);
    const recorded = stopping ? await this.#recordCancelled(job, outcome, fallback, stopping, log) : await this.#record(job, outcome, log, fallback);
    if (!recorded) return;
    const level = recorded.state === 'succeeded' ? 'info' : 'warn';
    log[level]({ durationMs, state: recorded.state, error: recorded.error, emitted: recorded.emitted }, 'job ended');
    this.#finished(log);
  }

  /**
   * Records a job an operator cancelled while it ran: `cancelled`, with its kind's failure events
   * saying who cancelled it. One that succeeded all the same (the cancel came as it finished) keeps
   * its result, and the request is refused. Commands an interrupted attempt left running (pid files
   * in the job's directory) are ended too.
   */
  async #recordCancelled(job: JobRow, outcome: JobOutcome, fallback: RecordFallback, stopping: { key: string; request: JobControlRequest }, log: Logger) {
    const { key, request } = stopping;
    const now = () => this.#o.clock.now().toISOString();
    if (outcome.state === 'succeeded') {
      const refused = controlOutcome(request, { refused: job, reason: `job ${job.id} finished before the cancel took effect` });
      return this.#record(job, outcome, log, fallback, () => this.#recordControl(key, request, refused, now()));
    }
    const { killGraceMs } = this.#o;
    await awaitPreviousAttempt(this.#jobDir(job.id), { timeoutMs: 0, killGraceMs, signal: this.#shutdown.signal, logger: log });
    const reason = cancelReason(request);
    const cancelled = controlOutcome(request, { cancelled: job, was: 'running' });
    return this.#record(job, { state: 'cancelled', error: reason, emit: this.#failureEvents(job, reason, log) }, log, 'nothing', () => this.#recordControl(key, request, cancelled, now()));
  }

  /** A job's final state and events committed: time to dispatch them. */
  #finished(log: Logger): void {
    try {
      this.#o.onFinished?.();
    } catch (error) {
      log.error({ err: error }, 'onFinished callback threw');
    }
  }

  async #execute(job: JobRow, recovering: boolean, signal: AbortSignal, log: Logger): Promise<JobOutcome> {
    const { clock, timeoutMs, killGraceMs } = this.#o;
    const workdir = this.#jobDir(job.id);
    const logPath = job.logPath ?? join(workdir, JOB_LOG);
    mkdirSync(workdir, { recursive: true });
    appendFileSync(logPath, `${LOG_MARKER} ${clock.now().toISOString()} attempt ${job.attempts} of job ${job.id} (${job.kind})${recovering ? ', recovering' : ''}\n`);
    log.info({ recovering }, 'job started');

    const executor = this.#executors.get(job.kind);
    if (!executor) {
      const known = [...this.#executors.keys()].join(', ') || 'none';
      return { state: 'failed', error: `no executor for job kind ${JSON.stringify(job.kind)} (this runner runs: ${known})`, emit: [] };
    }
    if (recovering && !(await awaitPreviousAttempt(workdir, { timeoutMs, killGraceMs, signal, logger: log }))) throw new JobInterruptedError();
    const ctx: JobContext = { job, workdir, logPath, signal, timeoutMs, now: () => clock.now(), logger: log, recovering };
    return checkOutcome(await executor.execute(ctx));
  }

  /**
   * Records the final state and the emitted events in one transaction, retrying with backoff until
   * the store takes it (each failure logged). When the events are rejected (data not matching the
   * topic's schema), the job is recorded failed with that reason and nothing is emitted.
   * @param also more to write in the same transaction (an operator's request marked done).
   * @returns undefined when the runner stopped before the store took it: the job stays `running`
   * there, and the next start requeues it (crash recovery).
   */
  async #record(job: JobRow, outcome: FinalOutcome, log: Logger, fallback: RecordFallback = 'failure-events', also?: () => Promise<void>): Promise<{ state: FinalState; error: string | undefined; emitted: number } | undefined> {
    const { store, clock } = this.#o;
    const write = (o: FinalOutcome): Promise<number> =>
      store
        .transaction(async () => {
          const emitted = await this.#writeOutcome(job, o, clock.now().toISOString(), log);
          await also?.();
          return emitted;
        })
        .catch((error: unknown) => {
          // No retry brings a lapsed lease back: the job is another replica's run now.
          throw error instanceof LeaseLostError ? new JobTakenOverError(job.id, error) : error;
        });
    const hooks = {
      signal: this.#shutdown.signal,
      onRetry: (error: unknown, attempt: number, delayMs: number) =>
        log.error({ err: error, attempt, retryInMs: delayMs, state: outcome.state }, 'recording the job result failed; trying again (the job holds its queue key meanwhile)'),
    };
    try {
      return { state: outcome.state, error: outcome.error, emitted: await retry(() => write(outcome), this.#o.recordRetry, hooks) };
    } catch (error) {
      if (error instanceof JobTakenOverError) {
        // Executors read back what an earlier run did (a compose is not composed twice), so the
        // other replica's run ends where this one did; its outcome is the one recorded.
        log.warn({ err: error }, 'this replica lost its lease on the job and another replica runs it now; this outcome is dropped');
        return undefined;
      }
      if (isRetriable(error)) {
        log.error({ err: error }, 'could not record the job before the runner stopped; it stays running in the store and is re-run at the next start');
        return undefined;
      }
      if (outcome.emit.length === 0 && outcome.result === undefined) {
        // Nothing of the executor's is left to blame: a store fault no retry fixes. Crash recovery re-runs it.
        log.error({ err: error }, 'could not record the job; it stays running in the store and is re-run at the next start');
        return undefined;
      }
      // The events or the result were rejected (nothing was kept): the job failed, for that reason,
      // said with the executor's failure events so listeners waiting on the job hear of it; should
      // those be refused too, without any event (that last write cannot come back here).
      log.error({ err: error }, 'job events rejected; job recorded failed');
      if (fallback === 'failure-events') {
        const reason = `job ${outcome.state}${outcome.error ? ` (${outcome.error})` : ''} but its events were rejected: ${messageOf(error)}`;
        return this.#record(job, { state: 'failed', error: reason, emit: this.#failureEvents(job, reason, log) }, log, 'nothing', also);
      }
      return this.#record(job, { state: 'failed', error: `${outcome.error}; its failure events were rejected too: ${messageOf(error)}`, emit: [] }, log, 'nothing', also);
    }
  }

  /**
   * Writes a job's final state and stores its events (inside the caller's transaction), under keys
   * of this run (see `runKey`). @returns how many events were new.
   */
  async #writeOutcome(job: JobRow, outcome: FinalOutcome, now: string, log: Logger = this.#log): Promise<number> {
    const { store, topicPrefix } = this.#o;
    const emitter = `job.${job.kind}`;
    const emits = outcome.emit.map((emit) => ({ ...emit, key: runKey(job, emit.key) }));
    const ids = emits.map((emit) => emittedEventId(job.id, emitter, emit.key));
    await store.jobs.finish(job.id, { state: outcome.state, result: outcome.result, error: outcome.error ?? null, emitted: ids }, now);
    let emitted = 0;
    for (const emit of emits) {
      const stored = await storeEmitted(store, emit, { causeId: job.id, correlationId: job.correlationId, emitter, topicPrefix, now });
      if (stored) (emitted++, log.debug({ msgId: stored.id, topic: stored.topic }, 'emitted'));
    }
    return emitted;
  }

  /** The executor's events saying the job failed (see `Executor.failureEvents`); none when it has no such hook. */
  #failureEvents(job: JobRow, error: string, log: Logger): JobOutcome['emit'] {
    try {
      return this.#executors.get(job.kind)?.failureEvents?.(job, error, job.logPath ?? join(this.#jobDir(job.id), JOB_LOG)) ?? [];
    } catch (hookError) {
      log.error({ err: hookError }, 'the executor could not describe its failure as events; the job is recorded failed without them');
      return [];
    }
  }

  #jobDir(id: string): string {
    return join(this.#o.workdir, jobDirName(id));
  }

  #resolveIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

/** A job's directory name: its id, or a digest of it when the id is not a plain file name. */
export function jobDirName(id: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 32);
}

function jobFields(job: JobRow): Record<string, unknown> {
  return { jobId: job.id, kind: job.kind, queueKey: job.queueKey, correlationId: job.correlationId, attempt: job.attempts };
}

/** Guards against executors written without the types: a malformed outcome fails the job, clearly. */
function checkOutcome(outcome: JobOutcome): JobOutcome {
  const ok = outcome && (outcome.state === 'succeeded' || outcome.state === 'failed') && Array.isArray(outcome.emit);
  if (!ok) throw new TypeError(`executor returned a malformed outcome: ${JSON.stringify(outcome)?.slice(0, 200)}`);
  return outcome;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A replica's lease on a running job lapsed and another replica claimed it: this run's outcome is not recorded. */
export class JobTakenOverError extends RelengdError {
  constructor(jobId: string, cause: LeaseLostError) {
    super(`job ${jobId} was taken over by another replica (${cause.message})`, { retriable: false, cause });
  }
}
