/**
 * Retry and cancel through the whole daemon in process: the command written to the store as an
 * operator on this machine (what `relengd jobs retry|cancel` does), dispatched to the job-control
 * listener, applied by the job runner to real compose commands.
 */
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedTransport } from '../../../src/bus/embedded/transport.ts';
import { startDaemon, type Daemon } from '../../../src/cli/daemon.ts';
import { sendOperatorCommand } from '../../../src/cli/operator-command.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { systemClock } from '../../../src/clock.ts';
import type { Executor } from '../../../src/jobs/executor.ts';
import { isProcessAlive, signalGroup } from '../../../src/jobs/process.ts';
import { JobRunner } from '../../../src/jobs/runner.ts';
import { silentLogger } from '../../../src/log.ts';
import { JOB_CONTROL, type JobControlRequest } from '../../../src/store/jobs.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { preparePipeline } from '../../helpers/pipeline.ts';
import { projectRoot } from '../../helpers/process.ts';
import { syncStore } from '../../helpers/sync-store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const LOCAL = `local:${userInfo().username}`;
const daemons: Daemon[] = [];
const leftovers: number[] = [];
const stoppers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const pid of leftovers.splice(0)) signalGroup(pid, 'SIGKILL');
  for (const daemon of daemons.splice(0)) await daemon.stop();
  for (const stop of stoppers.splice(0).reverse()) await stop();
});

/** The demo's pipeline, one job at a time, each compose a command that runs until it is killed. */
async function hangingPipeline(dir: string) {
  const hang = [process.execPath, join(projectRoot, 'test', 'helpers', 'hang-with-child.ts'), '{workdir}/pids'];
  const { yaml, steps } = await preparePipeline(dir, (y) => y.replace(/^( +compose: ).*$/gm, `$1${JSON.stringify(hang)}`).replace('jobs: { concurrency: 2,', 'jobs: { concurrency: 1,'));
  const config = parseConfig(yaml, { RELENGD_HTTP_PORT: '0' });
  const transport = new EmbeddedTransport();
  const daemon = await startDaemon({ config, logger: silentLogger(), transport, serveHttp: false });
  daemons.push(daemon);
  const bodhi = steps[0]!;
  await transport.inject([{ transport: 'test', raw: Buffer.from(JSON.stringify(bodhi.message.data)), headers: {}, decoded: bodhi.message }]);
  const store = syncStore(daemon.store);
  const command = async (action: 'retry' | 'cancel', jobId: string) => {
    const reply = await sendOperatorCommand(config, silentLogger(), `relengd.job.${action}.requested`, { jobId }, {});
    expect(reply).toMatchObject({ ok: true, via: LOCAL });
    return reply.id!;
  };
  const job = (id: string) => store.jobs.get(id)!;
  const events = (topic: string): Array<Record<string, unknown>> => store.events.query({ topic, order: 'asc' }).map((e) => ({ id: e.envelope.id, ...(e.envelope.data as Record<string, unknown>) }));
  const pidsOf = (id: string) => readFileSync(join(dir, 'jobs', id, 'pids'), 'utf8').trim().split(' ').map(Number);
  /** Waits until `id` runs its command, and returns the command's and its child's pids. */
  const running = async (id: string) => {
    await vi.waitFor(() => expect(existsSync(join(dir, 'jobs', id, 'pids'))).toBe(true), { timeout: 60_000, interval: 50 });
    const pids = pidsOf(id);
    leftovers.push(pids[0]!);
    return pids;
  };
  return { daemon, store, command, job, events, running };
}

describe('job control in the daemon', () => {
  it('a cancelled queued job never starts; retried, it runs again and its second cancel is an event of its own', { timeout: 240_000 }, async () => {
    const dir = tempDir();
    const { store, command, job, events, running } = await hangingPipeline(dir);
    await vi.waitFor(() => expect(store.jobs.list({ kind: 'compose' }).map((j) => j.state).sort()).toEqual(['queued', 'running']), { timeout: 60_000, interval: 50 });
    const first = store.jobs.list({ kind: 'compose', state: 'running' })[0]!;
    const queued = store.jobs.list({ kind: 'compose', state: 'queued' })[0]!;
    const firstPids = await running(first.id);

    // Cancelled while queued: never claimed, no directory, no log; the pipeline hears of a failed compose.
    await command('cancel', queued.id);
    await vi.waitFor(() => expect(job(queued.id).state).toBe('cancelled'), { timeout: 60_000, interval: 50 });
    expect(job(queued.id)).toMatchObject({ attempts: 0, startedAt: null, logPath: null, error: `cancelled by ${LOCAL}` });
    expect(existsSync(join(dir, 'jobs', queued.id))).toBe(false);
    expect(events('relengd.job.cancelled')).toMatchObject([{ jobId: queued.id, was: 'queued', requestedBy: LOCAL }]);
    // A compose id names the group's compose (its arches share it): this arch's is the id and the stream.
    const { composeId, stream } = queued.spec as { composeId: string; stream: string };
    await vi.waitFor(() => expect(events('relengd.compose.finished')).toMatchObject([{ composeId, stream, status: 'DOOMED' }]), { timeout: 60_000, interval: 50 });

    // Retried, it waits for the one job slot; the running one is not touched.
    const retry = await command('retry', queued.id);
    await vi.waitFor(() => expect(events('relengd.job.retried')).toMatchObject([{ jobId: queued.id, retries: 1, commandId: retry, requestedBy: LOCAL }]), { timeout: 60_000, interval: 50 });
    expect(job(queued.id)).toMatchObject({ state: 'queued', retries: 1, error: null });
    expect(job(first.id).state).toBe('running');

    // Cancelling the running job frees the slot: the retried one starts, and is cancelled in turn.
    await command('cancel', first.id);
    await vi.waitFor(() => expect(job(first.id).state).toBe('cancelled'), { timeout: 60_000, interval: 50 });
    for (const pid of firstPids) expect(isProcessAlive(pid)).toBe(false);
    const retriedPids = await running(queued.id);
    expect(job(queued.id)).toMatchObject({ state: 'running', attempts: 1 });
    await command('cancel', queued.id);
    await vi.waitFor(() => expect(job(queued.id).state).toBe('cancelled'), { timeout: 60_000, interval: 50 });
    for (const pid of retriedPids) expect(isProcessAlive(pid)).toBe(false);

    const failed = events('relengd.ostree.compose.failed').filter((e) => e.composeId === composeId && e.stream === stream);
    expect(failed).toHaveLength(2);
    expect(new Set(failed.map((e) => e.id)).size).toBe(2);
    expect(job(queued.id).emitted).toEqual([failed[1]!.id]);
    await vi.waitFor(() => expect(events('relengd.compose.finished').filter((e) => e.composeId === composeId && e.stream === stream).map((e) => e.status)).toEqual(['DOOMED', 'DOOMED']), { timeout: 60_000, interval: 50 });
  });

  it('refuses, as an event, what it cannot do: an unknown job, a retry of a running one, a cancel of an ended one', { timeout: 240_000 }, async () => {
    const dir = tempDir();
    const { store, command, job, events, running } = await hangingPipeline(dir);
    await vi.waitFor(() => expect(store.jobs.list({ kind: 'compose', state: 'running' })).toHaveLength(1), { timeout: 60_000, interval: 50 });
    const active = store.jobs.list({ kind: 'compose', state: 'running' })[0]!;
    await running(active.id);
    const queued = store.jobs.list({ kind: 'compose', state: 'queued' })[0]!;

    const unknown = await command('cancel', 'no-such-job');
    const retryRunning = await command('retry', active.id);
    await command('cancel', queued.id);
    await vi.waitFor(() => expect(job(queued.id).state).toBe('cancelled'), { timeout: 60_000, interval: 50 });
    const cancelEnded = await command('cancel', queued.id);
    await vi.waitFor(() => expect(events('relengd.job.control.refused')).toHaveLength(3), { timeout: 60_000, interval: 50 });
    const refused = new Map(events('relengd.job.control.refused').map((e) => [e.commandId, e]));
    expect(refused.get(unknown)).toMatchObject({ action: 'cancel', jobId: 'no-such-job', kind: null, reason: 'no job no-such-job', requestedBy: LOCAL });
    expect(refused.get(retryRunning)).toMatchObject({ action: 'retry', jobId: active.id, kind: 'compose', reason: `job ${active.id} is running; only a failed or cancelled job can be retried` });
    expect(refused.get(cancelEnded)).toMatchObject({ action: 'cancel', jobId: queued.id, reason: `job ${queued.id} already ended (cancelled)` });
    expect(job(active.id).state).toBe('running');
    await command('cancel', active.id);
    await vi.waitFor(() => expect(job(active.id).state).toBe('cancelled'), { timeout: 60_000, interval: 50 });
  });
});

describe('the job runner applying a cancel', () => {
  function runnerOn(store: Store, dir: string, executor: Executor): JobRunner {
    const runner = new JobRunner({ store: new SqliteStore(store), executors: [executor], concurrency: 1, workdir: join(dir, 'jobs'), timeoutMs: 60_000, clock: systemClock, logger: silentLogger(), topicPrefix: 'org.example', pollMs: 50 });
    stoppers.push(() => runner.stop({ graceMs: 5000 }));
    return runner;
  }
  /** What the job-control listener leaves for the runner. */
  function requestCancel(store: Store, jobId: string, commandId: string): void {
    const request: JobControlRequest = { action: 'cancel', jobId, requestedBy: 'releng', commandId, correlationId: commandId, at: new Date().toISOString() };
    store.state.put(JOB_CONTROL, commandId, request, request.at, 'job-control');
  }
  const outcomes = (store: Store) => store.events.query({ topic: 'relengd.job.control.refused' }).concat(store.events.query({ topic: 'relengd.job.cancelled' })).map((e) => e.envelope.data as Record<string, unknown>);

  it('keeps the result of a job that succeeds as the cancel arrives, and refuses the cancel', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const store = Store.open(join(dir, 'relengd.db'));
    stoppers.push(async () => store.close());
    // An executor that finishes its work whatever the signal says (a promotion past its ref moves).
    const executor: Executor = { kind: 'test', execute: (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ state: 'succeeded', emit: [] }))) };
    store.jobs.insert({ id: 'job-1', kind: 'test', queueKey: 'q', spec: {}, causeEventId: 'cause-1', correlationId: 'cause-1', listener: 'test' }, new Date().toISOString());
    await runnerOn(store, dir, executor).start();
    await vi.waitFor(() => expect(store.jobs.get('job-1')!.state).toBe('running'), { timeout: 30_000, interval: 20 });
    requestCancel(store, 'job-1', 'cmd-1');
    await vi.waitFor(() => expect(store.jobs.get('job-1')!.state).toBe('succeeded'), { timeout: 30_000, interval: 20 });
    expect(outcomes(store)).toMatchObject([{ jobId: 'job-1', commandId: 'cmd-1', action: 'cancel', reason: 'job job-1 finished before the cancel took effect' }]);
    expect(store.state.list(JOB_CONTROL)).toEqual([]);
  });

  it('applies a cancel that came while the daemon was down before the job can run again', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const store = Store.open(join(dir, 'relengd.db'));
    stoppers.push(async () => store.close());
    let runs = 0;
    const executor: Executor = { kind: 'test', execute: (ctx) => (runs++, new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ state: 'failed', error: 'stopped', emit: [] })))) };
    store.jobs.insert({ id: 'job-1', kind: 'test', queueKey: 'q', spec: {}, causeEventId: 'cause-1', correlationId: 'cause-1', listener: 'test' }, new Date().toISOString());
    const first = runnerOn(store, dir, executor);
    await first.start();
    await vi.waitFor(() => expect(store.jobs.get('job-1')!.state).toBe('running'), { timeout: 30_000, interval: 20 });
    await first.stop();
    expect(store.jobs.get('job-1')!.state).toBe('interrupted');

    requestCancel(store, 'job-1', 'cmd-1');
    await runnerOn(store, dir, executor).start();
    expect(store.jobs.get('job-1')).toMatchObject({ state: 'cancelled', attempts: 1, error: 'cancelled by releng' });
    expect(runs).toBe(1);
    expect(outcomes(store)).toMatchObject([{ jobId: 'job-1', was: 'queued', requestedBy: 'releng' }]);
  });
});
