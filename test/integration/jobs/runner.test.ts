import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock.ts';
import type { Topic } from '../../../src/events/catalogue.ts';
import { JobInterruptedError, pidFileIn, type Executor, type JobContext, type JobOutcome } from '../../../src/jobs/executor.ts';
import { composeExecutor } from '../../../src/jobs/executors/compose.ts';
import { isProcessAlive, runCommand } from '../../../src/jobs/process.ts';
import { JobRunner, type JobRunnerOptions } from '../../../src/jobs/runner.ts';
import { silentLogger } from '../../../src/log.ts';
import { COMPOSE_QUEUE, composer as composerListener } from '../../../src/pipeline/listeners/composer.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';
import { captureLogger } from '../../helpers/log-capture.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { openTestStore, reopenTestStore, itSqliteOnly } from '../../helpers/store.ts';

const node = process.execPath;
const PREFIX = 'org.example.prod';
const COMMIT = 'a'.repeat(64);

const runners: JobRunner[] = [];
const stores: StoreApi[] = [];
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop({ graceMs: 5000 });
  for (const store of stores.splice(0)) if (store.isOpen()) await store.close();
});

/** The SQLite file at `path` (the interruption tests fake a crashed daemon on it). */
function openStore(path: string): StoreApi {
  const store = SqliteStore.open(path);
  stores.push(store);
  return store;
}

function newRunner(store: StoreApi, dir: string, executors: Executor[], options: Partial<JobRunnerOptions> = {}): JobRunner {
  const runner = new JobRunner({
    store,
    executors,
    concurrency: 2,
    workdir: join(dir, 'jobs'),
    timeoutMs: 60_000,
    clock: systemClock,
    logger: silentLogger(),
    topicPrefix: PREFIX,
    pollMs: 50,
    ...options,
  });
  runners.push(runner);
  return runner;
}

/** A runner on the store under test (RELENGD_TEST_STORE). */
async function setup(executors: Executor[], options: Partial<JobRunnerOptions> = {}) {
  const dir = tempDir();
  const dbPath = join(dir, 'relengd.db');
  const store = await openTestStore(dir);
  stores.push(store);
  return { dir, dbPath, store, runner: newRunner(store, dir, executors, options) };
}

let created = 0;
/** Enqueues a job; each one is created a second after the previous, so the queue order is the call order. */
async function enqueue(store: StoreApi | Store, id: string, options: { kind?: string; queueKey?: string; spec?: unknown } = {}): Promise<void> {
  const at = new Date(Date.UTC(2026, 10, 26, 12, 0, 0) + created++ * 1000).toISOString();
  await store.jobs.insert({ id, kind: options.kind ?? 'test', queueKey: options.queueKey ?? id, spec: options.spec ?? {}, causeEventId: `cause-of-${id}`, correlationId: `chain-of-${id}`, listener: 'test' }, at);
}

function executor(kind: string, execute: (ctx: JobContext) => Promise<JobOutcome>): Executor {
  return { kind, execute };
}

const succeeded = (): JobOutcome => ({ state: 'succeeded', emit: [] });

/** A promise with its resolve function outside. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Runs a real child for `ms` as the job's command. */
function sleepCommand(ctx: JobContext, ms: number, extra: Partial<Parameters<typeof runCommand>[0]> = {}) {
  return runCommand({ argv: [node, '-e', `setTimeout(() => {}, ${ms})`], logPath: ctx.logPath, cwd: ctx.workdir, signal: ctx.signal, timeoutMs: ctx.timeoutMs, ...extra });
}

describe('job runner: scheduling', () => {
  it('runs no more jobs at once than its concurrency', async () => {
    let active = 0;
    let most = 0;
    const { store, runner } = await setup(
      [
        executor('test', async (ctx) => {
          most = Math.max(most, ++active);
          await sleepCommand(ctx, 200);
          active--;
          return succeeded();
        }),
      ],
      { concurrency: 2 },
    );
    for (const id of ['j1', 'j2', 'j3']) await enqueue(store, id);
    await runner.start();
    expect(runner.runningCount()).toBe(2);
    await runner.idle();
    expect(most).toBe(2);
    expect((await store.jobs.list()).map((j) => [j.id, j.state, j.attempts])).toEqual([
      ['j3', 'succeeded', 1],
      ['j2', 'succeeded', 1],
      ['j1', 'succeeded', 1],
    ]);
    expect(runner.runningCount()).toBe(0);
  });

  it('never runs two jobs with the same queue key at once, while a job with another key runs alongside', async () => {
    const timeline: string[] = [];
    const otherKeyStarted = deferred();
    const { store, runner } = await setup(
      [
        executor('test', async (ctx) => {
          timeline.push(`start ${ctx.job.id}`);
          if (ctx.job.id === 'b1') otherKeyStarted.resolve();
          // a1 finishes only once b1 runs: b1 must not wait for a1.
          if (ctx.job.id === 'a1') await otherKeyStarted.promise;
          await sleepCommand(ctx, 50);
          timeline.push(`end ${ctx.job.id}`);
          return succeeded();
        }),
      ],
      { concurrency: 3 },
    );
    await enqueue(store, 'a1', { queueKey: 'fedora/26/x86_64/updates/atomic-host' });
    await enqueue(store, 'a2', { queueKey: 'fedora/26/x86_64/updates/atomic-host' });
    await enqueue(store, 'b1', { queueKey: 'fedora/26/aarch64/updates/atomic-host' });
    await runner.start();
    expect(runner.runningCount()).toBe(2);
    await runner.idle();
    expect(timeline.indexOf('start a2')).toBeGreaterThan(timeline.indexOf('end a1'));
    expect(timeline.indexOf('start b1')).toBeLessThan(timeline.indexOf('end a1'));
    expect((await store.jobs.list()).every((j) => j.state === 'succeeded')).toBe(true);
  });

  it('starts a job as soon as it is kicked', async () => {
    const { store, runner } = await setup([executor('test', (ctx) => sleepCommand(ctx, 50).then(succeeded))], { pollMs: 3_600_000 });
    await runner.start();
    await enqueue(store, 'j1');
    expect(runner.runningCount()).toBe(0);
    await runner.kick();
    expect(runner.runningCount()).toBe(1);
    expect((await store.jobs.get('j1'))?.state).toBe('running');
  });

  it('finds, by polling, a job another process inserted', async () => {
    const ran = deferred<string>();
    const { store, runner } = await setup([executor('test', async (ctx) => (ran.resolve(ctx.job.id), succeeded()))], { pollMs: 20 });
    await runner.start();
    const other = await reopenTestStore(store);
    stores.push(other);
    await enqueue(other, 'from-the-cli');
    expect(await ran.promise).toBe('from-the-cli');
    await runner.idle();
    expect((await other.jobs.get('from-the-cli'))?.state).toBe('succeeded');
  });

  it('claims nothing before start, and idle() does not wait for jobs it will not run', async () => {
    const { store, runner } = await setup([executor('test', async () => succeeded())]);
    await enqueue(store, 'j1');
    await runner.idle();
    expect((await store.jobs.get('j1'))?.state).toBe('queued');
  });

  it('gives every job its own directory, stable across attempts, with one log holding every attempt', async () => {
    const seen: Array<Pick<JobContext, 'workdir' | 'logPath'>> = [];
    const { dir, store, runner } = await setup([executor('test', async (ctx) => (seen.push({ workdir: ctx.workdir, logPath: ctx.logPath }), await sleepCommand(ctx, 1), succeeded()))]);
    await enqueue(store, 'j1');
    await runner.start();
    await runner.idle();
    expect(seen).toEqual([{ workdir: join(dir, 'jobs', 'j1'), logPath: join(dir, 'jobs', 'j1', 'job.log') }]);
    expect((await store.jobs.get('j1'))?.logPath).toBe(join(dir, 'jobs', 'j1', 'job.log'));
    const log = readFileSync(join(dir, 'jobs', 'j1', 'job.log'), 'utf8');
    expect(log).toMatch(/^# relengd: \S+ attempt 1 of job j1 \(test\)\n# relengd: \S+ started \[/);
    expect(log).toMatch(/exited 0 after \d+ ms\n$/);
  });
});

const REF = 'fedora/26/x86_64/updates/atomic-host';

/** A compose executor whose compose failed: a failure that is an outcome, with its event. */
function failedCompose(ctx: JobContext): JobOutcome {
  const error = 'rpm-ostree exited with 1';
  return {
    state: 'failed',
    error,
    result: { exitCode: 1 },
    emit: [{ topic: 'relengd.ostree.compose.failed', key: 'failed', subject: REF, data: { composeId: ctx.job.id, stream: 'f26-atomic-host-x86_64', ref: REF, error, log: ctx.logPath } }],
  };
}

describe('job runner: results', () => {
  it('stores the events of an outcome as emitted, pending dispatch, caused by the job, and queues them in the outbox', async () => {
    const { store, runner } = await setup([executor('compose', async (ctx) => failedCompose(ctx))]);
    await enqueue(store, 'compose-1', { kind: 'compose', queueKey: REF });
    await runner.start();
    await runner.idle();

    expect(await store.jobs.get('compose-1')).toMatchObject({ state: 'failed', error: 'rpm-ostree exited with 1', result: { exitCode: 1 } });
    const [event, ...more] = await store.events.query({ topic: 'relengd.ostree.compose.failed' });
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      origin: 'emitted',
      dispatchState: 'pending',
      envelope: {
        topic: 'relengd.ostree.compose.failed',
        prefix: PREFIX,
        subject: REF,
        causationid: 'compose-1',
        correlationid: 'chain-of-compose-1',
        source: '/relengd/job.compose',
        known: true,
      },
    });
    expect(await store.outbox.pending(10)).toEqual([expect.objectContaining({ eventId: event!.envelope.id, routingKey: `${PREFIX}.relengd.ostree.compose.failed` })]);
  });

  it('calls onFinished once the job state and its events are committed', async () => {
    // Read when onFinished is called (the reads start then; on PostgreSQL they are async).
    const seen: Array<Promise<unknown[]>> = [];
    let store!: StoreApi;
    const setUp = await setup([executor('compose', async (ctx) => failedCompose(ctx))], {
      onFinished: () =>
        void seen.push(Promise.all([store.jobs.get('compose-1').then((j) => j?.state), store.events.query({ topic: 'relengd.ostree.compose.failed' }).then((e) => e.length), store.outbox.countPending()])),
    });
    store = setUp.store;
    await enqueue(store, 'compose-1', { kind: 'compose', queueKey: REF });
    await setUp.runner.start();
    await setUp.runner.idle();
    expect(await Promise.all(seen)).toEqual([['failed', 1, 1]]);
  });

  it('refuses an event whose topic is not in the catalogue: the job is recorded failed naming the topic, and nothing is stored', async () => {
    // An executor written without the types: `topic` is a catalogue Topic at compile time.
    const typo = { topic: 'relengd.ostree.compose.finishd' as Topic, key: 'k', data: { free: 'form' } };
    let finished = 0;
    const { store, runner } = await setup([executor('test', async () => ({ state: 'succeeded', emit: [typo] }))], { onFinished: () => finished++ });
    await enqueue(store, 'j1');
    await runner.start();
    await runner.idle();
    expect(await store.jobs.get('j1')).toMatchObject({
      state: 'failed',
      error: 'job succeeded but its events were rejected: job.test emitted relengd.ostree.compose.finishd, which is not in the event catalogue (src/events/catalogue.ts)',
    });
    expect(await store.events.count()).toBe(0);
    expect(await store.outbox.countPending()).toBe(0);
    expect(finished).toBe(1);
  });

  describe('a compose job that cannot report its own result still tells the composer, so the ref is not blocked for good', () => {
    const spec = { composeId: 'compose-1', stream: 'f26-atomic-host-x86_64', group: 'f26-atomic-host', arch: 'x86_64', release: '26', repo: '/srv/ostree/26', ref: REF, treefile: 'fedora-atomic-host.json', version: '26.20261126.0', argv: ['rpm-ostree'], causes: [{ id: 'bodhi-0', topic: 'bodhi.compose.complete' }] };
    const real = composeExecutor({ openRepo: () => expect.unreachable('no repository is opened to describe a failure') });
    const cases: Array<[string, Executor['execute'], RegExp]> = [
      ['its event has a topic not in the catalogue', async () => ({ state: 'succeeded', emit: [{ topic: 'relengd.ostree.compose.done' as Topic, key: 'finished', data: {} }] }), /^job succeeded but its events were rejected: job\.compose emitted relengd\.ostree\.compose\.done, which is not in the event catalogue/],
      ['the executor throws', async () => Promise.reject(new Error('ostree: repo /srv/ostree/26 is corrupt')), /^ostree: repo \/srv\/ostree\/26 is corrupt$/],
    ];
    it.each(cases)('when %s', async (_, execute, error) => {
      const { dir, store, runner } = await setup([{ ...real, execute }]);
      await enqueue(store, 'compose-1', { kind: 'compose', queueKey: REF, spec });
      await runner.start();
      await runner.idle();

      expect(await store.jobs.get('compose-1')).toMatchObject({ state: 'failed', error: expect.stringMatching(error) });
      const failed = await store.events.query({ topic: 'relengd.ostree.compose.failed' });
      expect(failed.map((e) => e.envelope.data)).toEqual([{ composeId: 'compose-1', stream: spec.stream, ref: REF, version: spec.version, error: (await store.jobs.get('compose-1'))!.error, log: join(dir, 'jobs', 'compose-1', 'job.log') }]);

      // The composer, holding the ref for this job with a follow-up waiting, starts the follow-up on that event.
      const composer = listenerHarness(composerListener, testConfig(dir));
      composer.set(COMPOSE_QUEUE, REF, { active: { jobId: 'compose-1', version: spec.version }, pending: { version: '26.20261126.1', causes: [{ id: 'bodhi-1', topic: 'bodhi.compose.complete' }] } });
      const next = composer.send('relengd.ostree.compose.failed', failed[0]!.envelope.data, { id: failed[0]!.envelope.id });
      expect(next.jobs).toEqual([expect.objectContaining({ kind: 'compose', spec: expect.objectContaining({ version: '26.20261126.1' }) })]);
      expect(composer.get(COMPOSE_QUEUE, REF)).toMatchObject({ active: { version: '26.20261126.1' }, pending: null });
    });
  });

  it('keeps nothing of an outcome whose events are rejected: the job is failed, and not even its valid events are stored', async () => {
    const { store, runner } = await setup([
      executor('compose', async (ctx) => ({
        state: 'succeeded',
        emit: [...failedCompose(ctx).emit, { topic: 'relengd.ostree.compose.failed', key: 'bad', data: { composeId: ctx.job.id } }],
      })),
    ]);
    await enqueue(store, 'compose-1', { kind: 'compose', queueKey: REF });
    await runner.start();
    await runner.idle();
    const job = (await store.jobs.get('compose-1'))!;
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/^job succeeded but its events were rejected: relengd\.ostree\.compose\.failed: stream: /);
    expect(await store.events.count()).toBe(0);
    expect(await store.outbox.countPending()).toBe(0);
  });

  it('records the job failed with the message of an executor that throws, and emits nothing', async () => {
    let finished = 0;
    const { store, runner } = await setup([executor('test', async () => Promise.reject(new Error('treefile fedora-atomic-host.json is not valid JSON')))], { onFinished: () => finished++ });
    await enqueue(store, 'j1');
    await runner.start();
    await runner.idle();
    expect(await store.jobs.get('j1')).toMatchObject({ state: 'failed', error: 'treefile fedora-atomic-host.json is not valid JSON', result: null });
    expect(await store.events.count()).toBe(0);
    expect(finished).toBe(1);
  });

  it('fails a job of a kind no executor runs, saying so', async () => {
    const { store, runner } = await setup([executor('compose', async () => succeeded()), executor('promote', async () => succeeded())]);
    await enqueue(store, 'j1', { kind: 'teleport' });
    await runner.start();
    await runner.idle();
    expect(await store.jobs.get('j1')).toMatchObject({ state: 'failed', error: 'no executor for job kind "teleport" (this runner runs: compose, promote)' });
  });

  it('refuses two executors for one kind', async () => {
    await expect(setup([executor('compose', async () => succeeded()), executor('compose', async () => succeeded())])).rejects.toThrow(/two executors for job kind "compose"/);
  });
});

describe('job runner: several replicas', () => {
  it('stops a running job whose lease two renewals in a row did not keep, and records nothing of it: another replica runs it now', async () => {
    const started = deferred();
    let abortedWith: unknown;
    const { store, runner } = await setup([
      executor('test', (ctx) => {
        started.resolve();
        return new Promise<JobOutcome>((resolve) => ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason;
          resolve({ state: 'failed', error: 'aborted', emit: [] });
        }));
      }),
    ]);
    await enqueue(store, 'compose-1');
    await runner.start();
    await started.promise;
    // A renewal that kept it, then one that missed it (a claim racing a renewal misses once): it runs on.
    runner.leasesRenewed(['compose-1']);
    runner.leasesRenewed([]);
    expect(abortedWith).toBeUndefined();
    runner.leasesRenewed(['compose-1']);
    runner.leasesRenewed([]);
    expect(abortedWith).toBeUndefined();
    // Missed twice in a row: taken over.
    runner.leasesRenewed([]);
    expect((abortedWith as Error | undefined)?.name).toBe('JobTakenOverError');
    await runner.idle();
    // Not recorded failed: the other replica's run is the job's outcome.
    expect(await store.jobs.get('compose-1')).toMatchObject({ state: 'running', error: null });
  });
});

describe('job runner: interruption and recovery', () => {
  // SQLite only: fakes the crashed daemon with the synchronous tables on the file (on PostgreSQL a dead replica's jobs come back by lease expiry).
  itSqliteOnly('re-runs a job a crashed daemon left running, once, with recovering set', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'relengd.db');
    // The crashed daemon: it claimed the job and never finished it.
    const crashed = Store.open(dbPath);
    await enqueue(crashed, 'compose-1', { kind: 'compose', queueKey: REF });
    crashed.transaction(() => crashed.jobs.claimNext(new Date().toISOString(), () => join(dir, 'jobs', 'compose-1', 'job.log')));
    crashed.close();

    const calls: Array<[number, boolean]> = [];
    const compose = executor('compose', async (ctx) => (calls.push([ctx.job.attempts, ctx.recovering]), succeeded()));
    const store = openStore(dbPath);
    const runner = newRunner(store, dir, [compose]);
    expect(await runner.start()).toEqual({ requeued: ['compose-1'] });
    await runner.idle();
    await runner.stop();
    expect(calls).toEqual([[2, true]]);
    expect(await store.jobs.get('compose-1')).toMatchObject({ state: 'succeeded', attempts: 2 });

    const again = newRunner(store, dir, [compose]);
    expect(await again.start()).toEqual({ requeued: [] });
    await again.idle();
    expect(calls).toHaveLength(1);
  });

  // SQLite only: fakes the crashed daemon with the synchronous tables on the file (on PostgreSQL a dead replica's jobs come back by lease expiry).
  itSqliteOnly('waits, before recovering, for the command of the interrupted attempt that still runs', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'relengd.db');
    const crashed = Store.open(dbPath);
    await enqueue(crashed, 'compose-1', { kind: 'compose', queueKey: REF });
    crashed.transaction(() => crashed.jobs.claimNext(new Date().toISOString(), () => join(dir, 'jobs', 'compose-1', 'job.log')));
    crashed.close();
    // The crashed daemon's rpm-ostree, still composing, with its pid file in the job directory.
    const jobDir = join(dir, 'jobs', 'compose-1');
    // It runs until the test creates `go`: only once the runner is seen waiting for it.
    const go = join(dir, 'go');
    let orphan = 0;
    const orphanRun = runCommand({
      argv: [node, '-e', `const fs = require('fs'); setInterval(() => fs.existsSync(${JSON.stringify(go)}) && process.exit(0), 10)`],
      logPath: join(jobDir, 'job.log'),
      pidFile: pidFileIn(jobDir),
      onSpawn: (pid) => (orphan = pid),
    });

    const seen: boolean[] = [];
    const log = captureLogger('info');
    const runner = newRunner(openStore(dbPath), dir, [executor('compose', async () => (seen.push(isProcessAlive(orphan)), succeeded()))], { logger: log.logger });
    await runner.start();
    await vi.waitFor(() => expect(log.records.map((r) => r.msg)).toContain('command of the interrupted attempt still running; waiting for it to exit'), { timeout: 10_000, interval: 10 });
    expect(seen).toEqual([]); // the orphan cannot have exited: it waits for `go`
    writeFileSync(go, '');
    await runner.idle();
    await orphanRun;
    expect(seen).toEqual([false]);
  });

  // SQLite only: fakes the crashed daemon with the synchronous tables on the file (on PostgreSQL a dead replica's jobs come back by lease expiry).
  itSqliteOnly('kills the command of the interrupted attempt when it runs past the job timeout, then recovers', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'relengd.db');
    const crashed = Store.open(dbPath);
    await enqueue(crashed, 'compose-1', { kind: 'compose', queueKey: REF });
    crashed.transaction(() => crashed.jobs.claimNext(new Date().toISOString(), () => join(dir, 'jobs', 'compose-1', 'job.log')));
    crashed.close();
    const jobDir = join(dir, 'jobs', 'compose-1');
    let orphan = 0;
    // Settled into a value at once: the kill may land before the assertion below is reached.
    const orphanRun = runCommand({ argv: [node, '-e', 'setTimeout(() => {}, 60_000)'], logPath: join(jobDir, 'job.log'), pidFile: pidFileIn(jobDir), onSpawn: (pid) => (orphan = pid) }).then(
      () => ({ signal: null }),
      (error: { signal: string | null }) => ({ signal: error.signal }),
    );

    const seen: boolean[] = [];
    const runner = newRunner(openStore(dbPath), dir, [executor('compose', async () => (seen.push(isProcessAlive(orphan)), succeeded()))], { timeoutMs: 300, killGraceMs: 200 });
    await runner.start();
    await runner.idle();
    expect(seen).toEqual([false]);
    expect(await orphanRun).toEqual({ signal: 'SIGTERM' });
  });

  it('stops a job on stop(): its command is killed, the job is interrupted, and the next runner re-runs it', async () => {
    const started = deferred<number>();
    const calls: Array<{ recovering: boolean; reason?: unknown }> = [];
    const compose = executor('compose', async (ctx) => {
      calls.push({ recovering: ctx.recovering });
      if (ctx.recovering) return { state: 'succeeded', result: { readBack: true }, emit: [] };
      try {
        await sleepCommand(ctx, 60_000, { pidFile: pidFileIn(ctx.workdir), onSpawn: (pid) => started.resolve(pid) });
      } finally {
        calls.at(-1)!.reason = ctx.signal.reason;
      }
      return succeeded();
    });
    const { dir, store, runner } = await setup([compose]);
    await enqueue(store, 'compose-1', { kind: 'compose', queueKey: REF });
    await runner.start();
    const pid = await started.promise;
    await runner.stop({ graceMs: 5000 });
    expect(isProcessAlive(pid)).toBe(false);
    expect(await store.jobs.get('compose-1')).toMatchObject({ state: 'interrupted', attempts: 1 });
    expect(calls[0]!.reason).toBeInstanceOf(JobInterruptedError);
    expect(runner.runningCount()).toBe(0);
    const restarted = await reopenTestStore(store, dir);
    stores.push(restarted);
    await store.close();

    const next = newRunner(restarted, dir, [compose]);
    expect(await next.start()).toEqual({ requeued: ['compose-1'] });
    await next.idle();
    expect(calls.map((c) => c.recovering)).toEqual([false, true]);
    const reopened = await reopenTestStore(restarted, dir);
    stores.push(reopened);
    expect(await reopened.jobs.get('compose-1')).toMatchObject({ state: 'succeeded', attempts: 2, result: { readBack: true }, error: null });
  });

  it('records a job that ignores the abort interrupted after graceMs, and keeps nothing it returns later', async () => {
    const release = deferred();
    const running = deferred();
    const { store, runner } = await setup([
      executor('compose', async (ctx) => {
        running.resolve();
        await release.promise;
        return failedCompose(ctx);
      }),
    ]);
    await enqueue(store, 'compose-1', { kind: 'compose', queueKey: REF });
    await runner.start();
    await running.promise;
    await runner.stop({ graceMs: 50 });
    expect((await store.jobs.get('compose-1'))?.state).toBe('interrupted');
    release.resolve();
    await runner.idle();
    expect((await store.jobs.get('compose-1'))?.state).toBe('interrupted');
    expect(await store.events.count()).toBe(0);
  });

  it('claims nothing after stop()', async () => {
    const { store, runner } = await setup([executor('test', async () => succeeded())]);
    await runner.start();
    await runner.stop();
    await enqueue(store, 'j1');
    await runner.kick();
    await runner.idle();
    expect((await store.jobs.get('j1'))?.state).toBe('queued');
  });
});
