/**
 * Catching up on missed messages (on start, and `relengd replay --from-*`): each batch is stored
 * as the source hands it over, so a long catch-up neither holds everything in memory nor loses
 * what it already read when the source fails; a dry run says what a real run would do and keeps
 * nothing.
 */
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.ts';
import { silentLogger } from '../../../src/log.ts';
import { catchUp, type BatchSource } from '../../../src/pipeline/catch-up.ts';
import { Dispatcher } from '../../../src/pipeline/dispatcher.ts';
import { Intake, type Delivery } from '../../../src/pipeline/intake.ts';
import { allListeners } from '../../../src/pipeline/listeners/index.ts';
import { Router } from '../../../src/pipeline/router.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { Store } from '../../../src/store/store.ts';
import { testConfig } from '../../helpers/config.ts';
import { tempDir } from '../../helpers/tmp.ts';

function pipelineIn(dir: string) {
  const config = testConfig(dir);
  const store = Store.open(config.store.path);
  const clock = fixedClock('2026-11-26T12:00:00Z');
  const logger = silentLogger();
  const api = new SqliteStore(store);
  return {
    path: config.store.path,
    store,
    api,
    intake: new Intake({ store: api, config, clock, logger }),
    dispatcher: new Dispatcher({ store: api, router: new Router(allListeners), config, clock, logger }),
  };
}

/** Bodhi mashed f26-updates: the test config composes both arches from it. */
function mashed(id: string): Delivery {
  const data = { repo: 'f26-updates', success: true, agent: 'bodhi', ctype: 'rpm' };
  return { transport: 'archive', source: 'archive', raw: Buffer.from(JSON.stringify(data)), headers: {}, decoded: { topic: 'org.fedoraproject.prod.bodhi.compose.complete', id, data } };
}

/** What another process (the daemon, `relengd events`) sees in the store file. */
function eventsSeenFromOutside(path: string): number {
  const reader = Store.open(path);
  try {
    return reader.events.count();
  } finally {
    reader.close();
  }
}

const batches = (): Delivery[][] => [[mashed('m-1'), mashed('m-2')], [mashed('m-2'), mashed('m-3')]];

function sourceOf(list: Delivery[][], between: () => void = () => undefined): BatchSource {
  return async (each) => {
    for (const batch of list) {
      await each(batch);
      between();
    }
  };
}

describe('catchUp', () => {
  it('commits each batch before the source reads the next one, and dispatches it', async () => {
    const p = pipelineIn(tempDir());
    const seen: number[] = [];
    const report = await catchUp(sourceOf(batches(), () => seen.push(eventsSeenFromOutside(p.path))), { intake: p.intake, store: p.api, dispatcher: p.dispatcher });
    p.store.close();

    expect(report).toMatchObject({ dryRun: false, committed: 3, duplicate: 1, rejected: 0, failed: 0 });
    // After the first batch: its two messages and what dispatching them emitted, already on disk.
    expect(seen[0]).toBeGreaterThan(2);
    expect(seen[1]).toBeGreaterThan(seen[0]!);
    const after = Store.open(p.path);
    expect(after.events.query({ dispatchState: 'pending' })).toEqual([]);
    expect(after.jobs.list().length).toBe(report.enqueued);
    expect(report.enqueued).toBeGreaterThan(0);
    after.close();
  });

  it('keeps what was stored before the source failed', async () => {
    const p = pipelineIn(tempDir());
    const failing: BatchSource = async (each) => {
      await each([mashed('m-1')]);
      throw new Error('datagrepper went away');
    };
    await expect(catchUp(failing, { intake: p.intake, store: p.api })).rejects.toThrow('datagrepper went away');
    expect(p.store.events.has('m-1')).toBe(true);
    p.store.close();
  });

  it('in a dry run, reports exactly what a real run does, duplicates across batches included, and stores nothing', async () => {
    const dry = pipelineIn(tempDir());
    const wouldDo = await catchUp(sourceOf(batches()), { intake: dry.intake, store: dry.api, dispatcher: dry.dispatcher, dryRun: true });
    expect(dry.store.events.count()).toBe(0);
    expect(dry.store.jobs.list()).toEqual([]);
    dry.store.close();

    const real = pipelineIn(tempDir());
    const did = await catchUp(sourceOf(batches()), { intake: real.intake, store: real.api, dispatcher: real.dispatcher });
    real.store.close();
    expect(wouldDo).toEqual({ ...did, dryRun: true });
    expect(wouldDo).toMatchObject({ committed: 3, duplicate: 1 });
  });
});

describe('StoreApi.dryRun', () => {
  it('undoes what it ran, also inside an open transaction, and returns its result', async () => {
    const p = pipelineIn(tempDir());
    expect(await p.api.dryRun(async () => (await p.intake.accept([mashed('d-1')])).map((o) => o.kind))).toEqual(['committed']);
    expect(p.store.events.has('d-1')).toBe(false);
    await p.api.transaction(async () => {
      await p.intake.accept([mashed('kept')]);
      await p.api.dryRun(() => p.intake.accept([mashed('d-2')]));
    });
    expect([p.store.events.has('kept'), p.store.events.has('d-2')]).toEqual([true, false]);
    p.store.close();
  });
});
