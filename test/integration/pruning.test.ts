import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedTransport } from '../../src/bus/embedded/transport.ts';
import { fixedClock } from '../../src/clock.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { startPruning, type Pruning } from '../../src/cli/pruning.ts';
import { parseConfig } from '../../src/config/index.ts';
import { makeEnvelope } from '../../src/events/envelope.ts';
import { PostgresStore } from '../../src/store/postgres/index.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { Store } from '../../src/store/store.ts';
import { testConfigYaml } from '../helpers/config.ts';
import { captureLogger } from '../helpers/log-capture.ts';
import { postgresMissingReason, titled, useThrowawayDatabase } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/tmp.ts';

const NOW = '2026-12-01T00:00:00.000Z';
const OLD = '2026-08-01T00:00:00.000Z';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capturingLogger() {
  const { logger, records } = captureLogger('debug');
  return { logger, records, pruned: () => records.filter((r) => r.component === 'retention' && r.msg === 'pruned') };
}

/** An inbound message received (and dispatched) at `at`. */
function seedEvent(store: Store, id: string, at: string): void {
  store.events.insert(makeEnvelope({ topic: 'org.example.thing.happened', id, data: {} }, { receivedAt: at }), { origin: 'inbound', transport: 'test', receivedAt: at });
  store.events.markDispatched(store.events.get(id)!.seq, at);
}

describe('the daemon prunes the store', () => {
  it('on start, logging what it pruned', async () => {
    const dir = tempDir();
    const config = parseConfig(testConfigYaml(dir), {});
    const seed = Store.open(config.store.path);
    seedEvent(seed, 'old', OLD);
    seedEvent(seed, 'recent', '2026-11-30T00:00:00.000Z');
    seed.rejected.insert({ receivedAt: OLD, transport: 'test', topic: null, messageId: null, publisher: null, reason: 'not-json', field: null, detail: 'bad', headers: {}, raw: Buffer.from('x') });
    seed.jobs.insert({ id: 'old-job', kind: 'compose', queueKey: 'k', spec: {}, causeEventId: 'old', correlationId: 'old', listener: 'test' }, OLD);
    seed.jobs.finish('old-job', { state: 'succeeded' }, OLD);
    seed.close();
    mkdirSync(join(config.jobs.workdir, 'old-job'), { recursive: true });

    const { logger, pruned } = capturingLogger();
    const daemon: Daemon = await startDaemon({ config, logger, clock: fixedClock(NOW), transport: new EmbeddedTransport(), serveHttp: false });
    cleanups.push(() => daemon.stop());

    await vi.waitFor(() => expect(pruned()).toHaveLength(1));
    expect(pruned()[0]).toMatchObject({ level: 30, events: 1, outbox: 0, rejected: 1, jobDirectories: 1 });
    expect(await daemon.store.events.has('old')).toBe(false);
    expect(await daemon.store.events.has('recent')).toBe(true);
    expect(await daemon.store.rejected.count()).toBe(0);
    expect(existsSync(join(config.jobs.workdir, 'old-job'))).toBe(false);
    expect((await daemon.store.jobs.get('old-job'))?.state).toBe('succeeded');
  });
});

describe('pruning on an interval', () => {
  it('runs every intervalMinutes; a failed run is logged and the next one prunes', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const dir = tempDir();
    const path = join(dir, 'relengd.db');
    const store = Store.open(path);
    store.db.exec('PRAGMA busy_timeout = 10');
    const other = new DatabaseSync(path, { timeout: 0 });
    cleanups.push(() => {
      if (other.isTransaction) other.exec('ROLLBACK');
      other.close();
      store.close();
    });
    seedEvent(store, 'old', OLD);
    const retention = parseConfig('', {}).retention;
    const { logger, records, pruned } = capturingLogger();

    // The first run (on start) finds the store locked by another writer.
    other.exec('BEGIN IMMEDIATE');
    const pruning: Pruning = startPruning({ store: new SqliteStore(store), retention, jobsWorkdir: join(dir, 'jobs'), clock: fixedClock(NOW), logger });
    cleanups.push(() => pruning.stop());
    await vi.waitFor(() => expect(records.filter((r) => r.msg === 'pruning failed; trying again at the next interval')).toHaveLength(1));
    other.exec('ROLLBACK');
    expect(store.events.has('old')).toBe(true);

    vi.advanceTimersByTime(retention.intervalMinutes * 60_000);
    await vi.waitFor(() => expect(pruned()).toHaveLength(1));
    expect(pruned()[0]).toMatchObject({ events: 1 });
    expect(store.events.has('old')).toBe(false);

    vi.advanceTimersByTime(retention.intervalMinutes * 60_000);
    await vi.waitFor(() => expect(pruned()).toHaveLength(2));
    expect(pruned()[1]).toMatchObject({ level: 20, events: 0 });
  });
});

describe.skipIf(postgresMissingReason !== null)(titled('pruning a PostgreSQL store'), () => {
  const url = useThrowawayDatabase();

  it('prunes as on SQLite: old events and rejected messages go, recent ones stay', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const store = await PostgresStore.open(url(), { replicaId: 'pruning', applicationName: 'pruning-test' });
    cleanups.push(() => store.close());
    for (const [id, at] of [
      ['old', OLD],
      ['recent', '2026-11-30T00:00:00.000Z'],
    ] as const) {
      await store.events.insert(makeEnvelope({ topic: 'org.example.thing.happened', id, data: {} }, { receivedAt: at }), { origin: 'inbound', transport: 'test', receivedAt: at });
      await store.events.markDispatched((await store.events.get(id))!.seq, at);
    }
    await store.rejected.insert({ receivedAt: OLD, transport: 'test', topic: null, messageId: null, publisher: null, reason: 'not-json', field: null, detail: 'bad', headers: {}, raw: Buffer.from('x') });
    const retention = parseConfig('', {}).retention;
    const { logger, records, pruned } = capturingLogger();

    const pruning = startPruning({ store, retention, jobsWorkdir: join(tempDir(), 'jobs'), clock: fixedClock(NOW), logger });
    cleanups.push(() => pruning.stop());
    await vi.waitFor(() => expect(pruned()).toHaveLength(1));

    expect(pruned()[0]).toMatchObject({ level: 30, events: 1, rejected: 1 });
    expect(records.filter((r) => r.component === 'retention' && (r.level as number) >= 40)).toEqual([]);
    expect(await store.events.has('old')).toBe(false);
    expect(await store.events.has('recent')).toBe(true);
    expect(await store.rejected.count()).toBe(0);
  });
});
