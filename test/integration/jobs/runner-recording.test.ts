import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock.ts';
import type { Executor, JobContext, JobOutcome } from '../../../src/jobs/executor.ts';
import { JobRunner } from '../../../src/jobs/runner.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { tempDir } from '../../helpers/tmp.ts';

const REF = 'fedora/26/x86_64/updates/atomic-host';
const RECORD_FAILED = 'recording the job result failed; trying again (the job holds its queue key meanwhile)';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A promise with its resolve function outside. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A store whose writes give up after 10 ms of waiting for the lock, a runner on it whose log
 * records are kept, and a second connection to the same file that can hold the write lock.
 */
function setup(execute: (ctx: JobContext) => Promise<JobOutcome>) {
  const dir = tempDir();
  const dbPath = join(dir, 'relengd.db');
  const store = Store.open(dbPath);
  store.db.exec('PRAGMA busy_timeout = 10');
  const { logger, records: logs } = captureLogger('info');
  const executor: Executor = { kind: 'compose', execute };
  const newRunner = () => {
    const runner = new JobRunner({
      store: new SqliteStore(store),
      executors: [executor],
      concurrency: 2,
      workdir: join(dir, 'jobs'),
      timeoutMs: 60_000,
      clock: systemClock,
      logger,
      topicPrefix: 'org.example.prod',
      pollMs: 50,
      recordRetry: { initialMs: 5, maxMs: 20, factor: 2, jitter: 0, maxAttempts: Infinity },
    });
    cleanups.push(() => runner.stop({ graceMs: 5000 }));
    return runner;
  };
  const other = new DatabaseSync(dbPath, { timeout: 0 });
  cleanups.push(() => {
    if (other.isTransaction) other.exec('ROLLBACK');
    other.close();
    store.close();
  });
  const lock = {
    hold: () => other.exec('BEGIN IMMEDIATE'),
    release: () => other.exec('ROLLBACK'),
  };
  const recordFailures = (jobId: string) => logs.filter((r) => r.msg === RECORD_FAILED && r.jobId === jobId);
  return { store, newRunner, lock, recordFailures };
}

let created = 0;
function enqueue(store: Store, id: string): void {
  const at = new Date(Date.UTC(2026, 10, 26, 12, 0, 0) + created++ * 1000).toISOString();
  store.jobs.insert({ id, kind: 'compose', queueKey: REF, spec: {}, causeEventId: `cause-of-${id}`, correlationId: `chain-of-${id}`, listener: 'test' }, at);
}

const DONE_TOPIC = 'relengd.ostree.compose.finished';
const done = (ctx: JobContext): JobOutcome => ({
  state: 'succeeded',
  result: { n: 1 },
  emit: [{ topic: DONE_TOPIC, key: 'done', data: { composeId: ctx.job.id, stream: 'f26-atomic-host-x86_64', ref: REF, commit: null, parent: null, version: null, duration: 1 } }],
});

describe('job runner: a result the store refuses', () => {
  it('is recorded once the store takes it, the job holding its queue key until then; the next job of the key runs after', async () => {
    const ran: string[] = [];
    const firstRunning = deferred();
    const finishFirst = deferred();
    const { store, newRunner, lock, recordFailures } = setup(async (ctx) => {
      ran.push(ctx.job.id);
      if (ctx.job.id === 'compose-1') (firstRunning.resolve(), await finishFirst.promise);
      return done(ctx);
    });
    enqueue(store, 'compose-1');
    enqueue(store, 'compose-2');
    const runner = newRunner();
    await runner.start();
    await firstRunning.promise;

    lock.hold();
    finishFirst.resolve();
    await vi.waitFor(() => expect(recordFailures('compose-1').length).toBeGreaterThanOrEqual(6), { timeout: 10_000 });
    // Refused six times and counting: still running, here and in the store; its queue key stays taken.
    expect(store.jobs.get('compose-1')?.state).toBe('running');
    expect(store.jobs.get('compose-2')?.state).toBe('queued');
    expect(runner.runningCount()).toBe(1);
    expect(ran).toEqual(['compose-1']);

    lock.release();
    await vi.waitFor(() => expect(store.jobs.get('compose-1')?.state).toBe('succeeded'), { timeout: 10_000 });
    await vi.waitFor(() => expect(store.jobs.get('compose-2')?.state).toBe('succeeded'), { timeout: 10_000 });

    const first = store.jobs.get('compose-1')!;
    const outcome = store.events.query({ topic: DONE_TOPIC }).filter((e) => e.envelope.causationid === 'compose-1');
    expect(outcome).toHaveLength(1);
    expect(first).toMatchObject({ result: { n: 1 }, emitted: [outcome[0]!.envelope.id], attempts: 1 });
    expect(store.outbox.pending(10).filter((o) => o.eventId === outcome[0]!.envelope.id)).toHaveLength(1);
    expect(ran).toEqual(['compose-1', 'compose-2']);
    expect(store.jobs.get('compose-2')!.startedAt! >= first.finishedAt!).toBe(true);
  });

  it('is left running in the store when the runner stops first, and the next start re-runs the job', async () => {
    const calls: Array<[string, boolean]> = [];
    const running = deferred();
    const finish = deferred();
    const { store, newRunner, lock, recordFailures } = setup(async (ctx) => {
      calls.push([ctx.job.id, ctx.recovering]);
      if (!ctx.recovering) (running.resolve(), await finish.promise);
      return done(ctx);
    });
    enqueue(store, 'compose-1');
    const runner = newRunner();
    await runner.start();
    await running.promise;
    lock.hold();
    finish.resolve();
    await vi.waitFor(() => expect(recordFailures('compose-1').length).toBeGreaterThanOrEqual(1), { timeout: 10_000 });

    await runner.stop({ graceMs: 5000 });
    expect(runner.runningCount()).toBe(0);
    lock.release();
    expect(store.jobs.get('compose-1')?.state).toBe('running');
    expect(store.events.count()).toBe(0);

    const next = newRunner();
    expect(await next.start()).toEqual({ requeued: ['compose-1'] });
    await next.idle();
    expect(calls).toEqual([
      ['compose-1', false],
      ['compose-1', true],
    ]);
    expect(store.jobs.get('compose-1')).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(store.events.query({ topic: DONE_TOPIC })).toHaveLength(1);
  });
});
