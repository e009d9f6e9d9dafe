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
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const runners: JobRunner[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop({ graceMs: 5000 });
  for (const store of stores.splice(0)) store.close();
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

function setup(executors: Executor[]) {
  const dir = tempDir();
  const store = Store.open(join(dir, 'relengd.db'));
  stores.push(store);
  const runner = new JobRunner({ store: new SqliteStore(store), executors, concurrency: 1, workdir: join(dir, 'jobs'), timeoutMs: 60_000, clock: systemClock, logger: silentLogger(), topicPrefix: 'org.example', pollMs: 50 });
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
    const { runner, enqueue, store } = setup([waits.executor, work.executor]);
    enqueue('wait-1', 'sign-wait');
    enqueue('wait-2', 'sign-wait');
    enqueue('compose-1', 'compose');
    enqueue('compose-2', 'compose');
    await runner.start();
    await vi.waitFor(() => expect([...waits.started, ...work.started].sort()).toEqual(['compose-1', 'wait-1', 'wait-2']));
    // The one slot is the compose's: the second compose waits for it.
    expect(store.jobs.get('compose-2')?.state).toBe('queued');
    work.release();
    await vi.waitFor(() => expect(work.started).toEqual(['compose-1', 'compose-2']));
    waits.release();
    await runner.idle();
  });

  it('start while real work holds every slot', async () => {
    const waits = heldExecutor('sign-wait', true);
    const work = heldExecutor('compose', false);
    const { runner, enqueue } = setup([waits.executor, work.executor]);
    enqueue('compose-1', 'compose');
    await runner.start();
    await vi.waitFor(() => expect(work.started).toEqual(['compose-1']));
    enqueue('wait-1', 'sign-wait');
    await runner.kick();
    await vi.waitFor(() => expect(waits.started).toEqual(['wait-1']));
    work.release();
    waits.release();
    await runner.idle();
  });
});
