import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client } from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { silentLogger } from '../../src/log.ts';
import { Intake } from '../../src/pipeline/intake.ts';
import { openStore } from '../../src/store/open.ts';
import { testConfig, testConfigYaml } from '../helpers/config.ts';
import { spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const running: DaemonProcess[] = [];
afterEach(() => {
  for (const d of running.splice(0)) d.child.kill('SIGKILL');
});

function message(i: number) {
  return { topic: 'org.fedoraproject.prod.bodhi.compose.complete', id: `mash-${i}`, body: { repo: 'f26-updates', success: true, ctype: 'rpm', n: i } };
}

/** Counts straight from the store's tables (the SQLite file, or the PostgreSQL database), as an operator would after a crash. */
async function countRows(dir: string) {
  const { store } = testConfig(dir);
  const sql = {
    inbound: `SELECT count(*) AS n FROM events WHERE origin = 'inbound'`,
    pending: `SELECT count(*) AS n FROM events WHERE dispatch_state <> 'done'`,
    requests: `SELECT count(*) AS n FROM events WHERE topic = 'relengd.ostree.compose.requested'`,
    distinctCauses: `SELECT count(DISTINCT causation_id) AS n FROM events WHERE topic = 'relengd.ostree.compose.requested'`,
  };
  const idsSql = `SELECT id FROM events WHERE origin = 'inbound'`;
  if (store.url !== undefined) {
    const client = new Client({ connectionString: store.url });
    await client.connect();
    try {
      const one = async (q: string) => Number((await client.query<{ n: string }>(q)).rows[0]!.n);
      return {
        inbound: await one(sql.inbound),
        pending: await one(sql.pending),
        requests: await one(sql.requests),
        distinctCauses: await one(sql.distinctCauses),
        ids: (await client.query<{ id: string }>(idsSql)).rows.map((r) => r.id),
      };
    } finally {
      await client.end();
    }
  }
  const db = new DatabaseSync(store.path);
  try {
    const one = (q: string) => (db.prepare(q).get() as { n: number }).n;
    return {
      inbound: one(sql.inbound),
      pending: one(sql.pending),
      requests: one(sql.requests),
      distinctCauses: one(sql.distinctCauses),
      ids: (db.prepare(idsSql).all() as Array<{ id: string }>).map((r) => r.id),
    };
  } finally {
    db.close();
  }
}

async function stopGracefully(d: DaemonProcess): Promise<void> {
  // After the whole startup, recovery included (a SIGTERM during startup is handled too: see the last test).
  await vi.waitFor(() => expect(d.lines.some((l) => l.msg === 'relengd started')).toBe(true), { timeout: 10_000 });
  d.child.kill('SIGTERM');
  expect(await d.exited).toBe(0);
}

describe('a daemon killed with SIGKILL loses nothing and processes nothing twice', () => {
  it('dispatches, after restart, a message it stored but had not yet run through the listeners', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    // The state a crash between the inbox commit and the dispatch leaves: the event stored, pending.
    const config = testConfig(dir);
    const store = await openStore(config);
    const intake = new Intake({ store, config, clock: systemClock, logger: silentLogger() });
    const [outcome] = await intake.accept([{ transport: 'http', raw: Buffer.from('{}'), headers: {}, decoded: { topic: message(1).topic, id: 'mash-1', data: message(1).body } }]);
    await store.close();
    expect(outcome).toEqual({ kind: 'committed', id: 'mash-1' });
    expect(await countRows(dir)).toMatchObject({ inbound: 1, pending: 1, requests: 0 });

    const daemon = await spawnDaemon(configFile);
    running.push(daemon);
    await stopGracefully(daemon);
    expect(await countRows(dir)).toMatchObject({ inbound: 1, pending: 0, requests: 2, distinctCauses: 1 });

    const again = await spawnDaemon(configFile);
    running.push(again);
    await stopGracefully(again);
    expect(await countRows(dir)).toMatchObject({ inbound: 1, pending: 0, requests: 2 });
  });

  // 800 requests, two daemons and 800 compose jobs: ~15 s on an idle machine; the budget is for a busy one.
  it('after a SIGKILL in the middle of a burst, a producer that re-sends everything gets each message stored and processed exactly once', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    const total = 400;
    // Every message at once, each on its own connection: above the default http.maxConnections (256), which would refuse the rest.
    writeFileSync(configFile, testConfigYaml(dir).replace('http: { host: 127.0.0.1, port: 0 }', `http: { host: 127.0.0.1, port: 0, maxConnections: ${2 * total} }`));

    const first = await spawnDaemon(configFile);
    running.push(first);
    const acknowledged: string[] = [];
    const otherAnswers: number[] = [];
    let killed = false;
    await Promise.allSettled(
      Array.from({ length: total }, async (_, i) => {
        const reply = await publishOverHttp(first.url, message(i));
        if (reply.status === 202) acknowledged.push(String(reply.body.id));
        else otherAnswers.push(reply.status);
        if (acknowledged.length >= total / 4 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }),
    );
    // A quarter acknowledged, so the kill fired (checked first: otherwise the wait below never ends).
    expect(killed).toBe(true);
    expect(await first.exited).toBe(null); // killed, not exited
    // Each request was acknowledged or cut off by the crash; none was answered with an error.
    expect(otherAnswers).toEqual([]);
    const afterCrash = await countRows(dir);
    // Whatever was acknowledged is on disk, whatever the dispatcher had reached.
    expect(afterCrash.ids).toEqual(expect.arrayContaining(acknowledged));
    // How many of the rest it stored before dying depends on timing; the invariants below do not.

    const second = await spawnDaemon(configFile);
    running.push(second);
    const replies = await Promise.all(Array.from({ length: total }, (_, i) => publishOverHttp(second.url, message(i))));
    await stopGracefully(second);

    expect(replies.every((r) => r.status === 202 || r.status === 200)).toBe(true);
    expect(replies.filter((r) => r.body.status === 'duplicate').length).toBe(afterCrash.inbound);
    const final = await countRows(dir);
    expect(final).toMatchObject({ inbound: total, pending: 0, requests: 2 * total, distinctCauses: total });
  });
});

describe('a daemon stopped while it starts', () => {
  it('finishes starting, then stops cleanly (exit 0) instead of dying mid-startup', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    // At its first line, long before the store, the transport and HTTP are up.
    const daemon = await spawnDaemon(configFile, {}, (record, child) => record.msg === 'starting' && child.kill('SIGTERM'));
    running.push(daemon);
    expect(await daemon.exited).toBe(0);
    // The exit can come before the last lines are read.
    if (!daemon.child.stdout!.closed) await once(daemon.child.stdout!, 'close');
    expect(daemon.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['relengd started', 'shutting down', 'relengd stopped']));
  });
});
