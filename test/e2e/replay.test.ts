import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { parseConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { Intake } from '../../src/pipeline/intake.ts';
import { replayStored } from '../../src/pipeline/replay.ts';
import { openStore } from '../../src/store/open.ts';
import { Store } from '../../src/store/store.ts';
import { onTestStore, testConfigYaml } from '../helpers/config.ts';
import { itSqliteOnly } from '../helpers/store.ts';
import { startPipeline } from '../helpers/pipeline.ts';
import { runCli } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

/** The demo's whole story, run to promoted refs, on the store under test (RELENGD_TEST_STORE). */
async function completedRun() {
  const dir = tempDir();
  const p = await startPipeline(dir, onTestStore(dir));
  daemon = p.daemon;
  for (const step of [0, 1, 2]) await p.feed(step);
  const refs = async () => Object.fromEntries(await Promise.all((await p.repo.refs()).map(async (r) => [r, await p.repo.revParse(r)])));
  return { ...p, dir, refs };
}

/** Every file under `dir`, name and content, as one digest: byte-for-byte comparison of a repo. */
function treeDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      hash.update(path);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

describe('relengd replay', () => {
  it('replaying the whole store after a complete run emits nothing, enqueues nothing and moves no ref', { timeout: 60_000 }, async () => {
    const run = await completedRun();
    const before = { events: await run.daemon.store.events.count(), jobs: (await run.daemon.store.jobs.list()).length, refs: await run.refs() };
    const report = await replayStored(run.daemon.store, run.daemon.dispatcher, {}, { dryRun: false });
    await run.daemon.idle();
    expect(report.selected).toBe(before.events);
    expect(report).toMatchObject({ emitted: [], enqueued: [], requeued: [], promotions: 0 });
    expect(await run.daemon.store.events.count()).toBe(before.events);
    expect((await run.daemon.store.jobs.list()).length).toBe(before.jobs);
    expect(await run.refs()).toEqual(before.refs);
  });

  it('redoes exactly the job whose outcome event was lost, and nothing else', { timeout: 60_000 }, async () => {
    const run = await completedRun();
    const store = run.daemon.store;
    const compose = (await store.jobs.list({ kind: 'compose' })).find((j) => (j.spec as { arch: string }).arch === 'x86_64')!;
    const [outcomeId] = compose.emitted;
    expect((await store.events.get(outcomeId!))?.envelope.topic).toBe('relengd.ostree.compose.finished');
    const before = { events: await store.events.count(), refs: await run.refs() };
    await store.events.delete(outcomeId!);

    const report = await replayStored(store, run.daemon.dispatcher, {}, { dryRun: false });
    expect(report.requeued).toEqual([{ id: compose.id, kind: 'compose', queueKey: compose.queueKey, missing: [outcomeId] }]);
    expect(report.enqueued).toEqual([]);
    await run.daemon.runner.kick();
    await run.daemon.idle();

    expect(await store.jobs.get(compose.id)).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect((await store.jobs.list()).filter((j) => j.attempts > 1).map((j) => j.id)).toEqual([compose.id]);
    expect((await store.events.get(outcomeId!))?.envelope.data).toMatchObject({ composeId: (compose.spec as { composeId: string }).composeId, stream: (compose.spec as { stream: string }).stream, commit: expect.any(String) });
    expect(await store.events.count()).toBe(before.events);
    expect(await run.refs()).toEqual(before.refs);
    expect(await run.repo.log('fedora/26/x86_64/updates/atomic-host')).toHaveLength(1); // read back, not composed again
  });

  // SQLite only: compares the store's file byte for byte.
  itSqliteOnly('--dry-run says what it would do and leaves the store and the OSTree repo byte-for-byte unchanged', { timeout: 60_000 }, async () => {
    const run = await completedRun();
    const compose = (await run.daemon.store.jobs.list({ kind: 'compose' }))[0]!;
    await run.daemon.store.events.delete(compose.emitted[0]!);
    await run.daemon.stop();
    daemon = undefined;
    const dbFile = join(run.dir, 'relengd.db');
    const before = { db: readFileSync(dbFile), repo: treeDigest(join(run.dir, 'repo')) };

    const dry = await runCli(['--config', join(run.dir, 'relengd.yaml'), 'replay', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, requeued: [{ id: compose.id }] });
    const human = await runCli(['--config', join(run.dir, 'relengd.yaml'), 'replay', '--dry-run']);
    expect(human.stdout).toContain(`would re-run  compose job ${compose.id}`);

    expect(readFileSync(dbFile).equals(before.db)).toBe(true);
    expect(treeDigest(join(run.dir, 'repo'))).toBe(before.repo);
    const store = Store.open(dbFile);
    expect(store.jobs.get(compose.id)?.state).toBe('succeeded');
    store.close();
  });

  it('says so when the selection matches nothing, and exits 0', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'relengd.yaml'), testConfigYaml(dir));
    const result = await runCli(['--config', join(dir, 'relengd.yaml'), 'replay', '--topic', 'buildsys.#', '--since', '2017-01-01T00:00:00Z']);
    expect(result).toMatchObject({ code: 0, stdout: 'no stored event matches the selection: nothing to replay\n' });
  });
});

describe('catch-up from an archive', () => {
  function bodhiMessage(i: number) {
    // A repo no stream composes from: the catch-up is about storing and dispatching, not composing.
    return { id: `dg-${i}`, topic: 'org.fedoraproject.prod.bodhi.compose.complete', headers: { 'sent-at': `2026-11-2${i % 5}T10:00:00+00:00` }, body: { repo: 'f41-updates-testing', success: true, ctype: 'rpm', agent: 'bodhi' } };
  }

  it('processes exactly the 50 unseen messages of a datagrepper page of 200', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    const messages = Array.from({ length: 200 }, (_, i) => bodhiMessage(i));
    const config = parseConfig(testConfigYaml(dir), {});
    const store = await openStore(config);
    const intake = new Intake({ store, config, clock: systemClock, logger: silentLogger() });
    await intake.accept(messages.slice(0, 150).map((m) => ({ transport: 'test', raw: Buffer.from('{}'), headers: {}, decoded: { topic: m.topic, id: m.id, data: m.body } })));
    await store.close();
    const page = join(dir, 'datagrepper.json');
    writeFileSync(page, JSON.stringify({ arguments: { page: 1, rows_per_page: 200 }, count: 200, pages: 1, total: 200, raw_messages: messages }));

    const result = await runCli(['--config', configFile, 'replay', '--from-file', page, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ committed: 50, duplicate: 150, rejected: 0, problems: [] });
    const after = await openStore(config);
    expect(await after.events.count()).toBe(200);
    expect(await after.events.query({ dispatchState: 'pending' })).toEqual([]);
    await after.close();
  });

  // SQLite only: compares the store's file byte for byte.
  itSqliteOnly('--dry-run says what the catch-up would process and leaves the store byte-for-byte unchanged', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    const messages = Array.from({ length: 4 }, (_, i) => bodhiMessage(i));
    const config = parseConfig(testConfigYaml(dir), {});
    const store = await openStore(config);
    const intake = new Intake({ store, config, clock: systemClock, logger: silentLogger() });
    await intake.accept(messages.slice(0, 1).map((m) => ({ transport: 'test', raw: Buffer.from('{}'), headers: {}, decoded: { topic: m.topic, id: m.id, data: m.body } })));
    await store.close();
    const archive = join(dir, 'record.jsonl');
    writeFileSync(archive, `${messages.map((m) => JSON.stringify(m)).join('\n')}\n`);
    const before = readFileSync(join(dir, 'relengd.db'));

    const dry = await runCli(['--config', configFile, 'replay', '--from-file', archive, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, committed: 3, duplicate: 1 });
    expect(readFileSync(join(dir, 'relengd.db')).equals(before)).toBe(true);
    const real = await runCli(['--config', configFile, 'replay', '--from-file', archive, '--json']);
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, committed: 3, duplicate: 1 });
  });

  it('reports a malformed line with its number, skips it and processes the rest; export reads back', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    const lines = [JSON.stringify(bodhiMessage(1)), '{"topic": "org.fedoraproject.prod.bodhi.compose.complete", "body": ', JSON.stringify({ not: 'a message' }), JSON.stringify(bodhiMessage(2))];
    const archive = join(dir, 'record.jsonl');
    writeFileSync(archive, `${lines.join('\n')}\n`);
    const result = await runCli(['--config', configFile, 'replay', '--from-file', archive]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('processed 2 new message(s)');
    expect(result.stderr).toContain(`${archive}:2: skipped: not JSON`);
    expect(result.stderr).toContain(`${archive}:3: skipped: not a bus message`);

    const exported = await runCli(['--config', configFile, 'export', '--since', '2026-01-01', '--output', join(dir, 'export.jsonl')]);
    expect(exported.code).toBe(0);
    const again = await runCli(['--config', configFile, 'replay', '--from-file', join(dir, 'export.jsonl'), '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ committed: 0, duplicate: 2 });
  });
});

describe('catch-up from datagrepper over HTTP', () => {
  /** A datagrepper stand-in on loopback: /v2/search pages of 3 over the given messages; records the queries. */
  async function fakeDatagrepper(messages: unknown[]) {
    const queries: URLSearchParams[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/datagrepper/v2/search') return void res.writeHead(404).end();
      queries.push(url.searchParams);
      const page = Number(url.searchParams.get('page'));
      const size = 3;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ raw_messages: messages.slice((page - 1) * size, page * size), pages: Math.ceil(messages.length / size), total: messages.length, count: size }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/datagrepper`, queries, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  const message = (i: number) => ({ id: `http-${i}`, topic: 'org.fedoraproject.prod.bodhi.compose.complete', headers: { 'sent-at': '2026-11-25T10:00:00+00:00' }, body: { repo: 'f41-updates', success: true } });

  it('pages through /v2/search from --since and stores every message', { timeout: 30_000 }, async () => {
    const dg = await fakeDatagrepper(Array.from({ length: 7 }, (_, i) => message(i)));
    try {
      const dir = tempDir();
      writeFileSync(join(dir, 'relengd.yaml'), testConfigYaml(dir));
      const result = await runCli(['--config', join(dir, 'relengd.yaml'), 'replay', '--from-datagrepper', dg.url, '--since', '2026-11-25T00:00:00Z', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ committed: 7, duplicate: 0 });
      expect(dg.queries.map((q) => q.get('page'))).toEqual(['1', '2', '3']);
      expect(dg.queries[0]?.get('start')).toBe('2026-11-25T00:00:00.000Z');
    } finally {
      await dg.close();
    }
  });

  it('catches up on start from the newest stored message, before consuming live (recovery.datagrepper)', { timeout: 30_000 }, async () => {
    const dg = await fakeDatagrepper([message(1), message(2)]);
    try {
      const dir = tempDir();
      const config = parseConfig(testConfigYaml(dir, `recovery: { datagrepper: { url: "${dg.url}", maxAgeHours: 720 } }`), {});
      const store = await openStore(config);
      await new Intake({ store, config, clock: systemClock, logger: silentLogger() }).accept([
        { transport: 'test', raw: Buffer.from('{}'), headers: {}, decoded: { topic: message(1).topic, id: 'http-1', data: message(1).body, time: '2026-11-25T09:00:00Z' } },
      ]);
      await store.close();
      daemon = await startDaemon({ config, logger: silentLogger() });
      expect(await daemon.store.events.has('http-2')).toBe(true);
      expect(dg.queries[0]?.get('start')).toBe('2026-11-25T09:00:00.000Z');
      expect(dg.queries[0]?.getAll('topic')).toContain('org.fedoraproject.prod.bodhi.compose.complete');
    } finally {
      await dg.close();
    }
  });
});
