/**
 * Jobs that only wait (a signature that may take an hour) take none of the runner's slots: with
 * every slot held by waiting jobs, a compose still starts; and a waiting job starts even when real
 * work holds every slot.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock.ts';
import type { Executor, JobOutcome } from '../../../src/jobs/executor.ts';
import { JobRunner } from '../../../src/jobs/runner.ts';
import { silentLogger } from '../../../src/log.ts';
import type { StoreApi } from '../../../src/store/api.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { openTestStore } from '../../helpers/store.ts';

const runners: JobRunner[] = [];
const stores: StoreApi[] = [];
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop({ graceMs: 5000 });
  for (const store of stores.splice(0)) await store.close();
});

/** An executor whose jobs run until the test lets them end; `started` lists the ids that began. */
function heldExecutor(kind: string, waits: boolean) {
  const started: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const executor: Executor = {
    kind,
    ...(waits ? { waits: true } : {}),
    async execute(ctx): Promise<JobOutcome> {
      started.push(ctx.job.id);
      await released;
      return { state: 'succeeded', emit: [] };
    },
  };
  return { executor, started, release };
}

/** A runner on the store under test (RELENGD_TEST_STORE). */
async function setup(executors: Executor[]) {
  const dir = tempDir();
  const store = await openTestStore(dir);
  stores.push(store);
  const runner = new JobRunner({ store, executors, concurrency: 1, workdir: join(dir, 'jobs'), timeoutMs: 60_000, clock: systemClock, logger: silentLogger(), topicPrefix: 'org.example', pollMs: 50 });
  runners.push(runner);
  let n = 0;
  const enqueue = (id: string, kind: string) =>
    store.jobs.insert({ id, kind, queueKey: id, spec: {}, causeEventId: `cause-${id}`, correlationId: `chain-${id}`, listener: 'test' }, new Date(Date.UTC(2026, 10, 26, 12, 0, n++)).toISOString());
  return { store, runner, enqueue };
}

describe('jobs that only wait', () => {
  it('hold no slot: with a slot of one, two waits and a compose all run at once', async () => {
    const waits = heldExecutor('sign-wait', true);
    const work = heldExecutor('compose', false);
    const { runner, enqueue, store } = await setup([waits.executor, work.executor]);
    await enqueue('wait-1', 'sign-wait');
    await enqueue('wait-2', 'sign-wait');
    await enqueue('compose-1', 'compose');
    await enqueue('compose-2', 'compose');
    await runner.start();
    await vi.waitFor(() => expect([...waits.started, ...work.started].sort()).toEqual(['compose-1', 'wait-1', 'wait-2']));
    // The one slot is the compose's: the second compose waits for it.
    expect((await store.jobs.get('compose-2'))?.state).toBe('queued');
    work.release();
    await vi.waitFor(() => expect(work.started).toEqual(['compose-1', 'compose-2']));
    waits.release();
    await runner.idle();
  });

  it('start while real work holds every slot', async () => {
    const waits = heldExecutor('sign-wait', true);
    const work = heldExecutor('compose', false);
    const { runner, enqueue } = await setup([waits.executor, work.executor]);
    await enqueue('compose-1', 'compose');
    await runner.start();
    await vi.waitFor(() => expect(work.started).toEqual(['compose-1']));
    await enqueue('wait-1', 'sign-wait');
    await runner.kick();
    await vi.waitFor(() => expect(waits.started).toEqual(['wait-1']));
    work.release();
    waits.release();
    await runner.idle();
  });
});
