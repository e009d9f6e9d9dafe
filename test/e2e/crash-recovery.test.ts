import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { silentLogger } from '../../src/log.ts';
import { Intake } from '../../src/pipeline/intake.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
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

/** Counts straight from the SQLite file, as an operator would after a crash. */
function countRows(dbPath: string) {
  const db = new DatabaseSync(dbPath);
  try {
    const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      inbound: one(`SELECT count(*) AS n FROM events WHERE origin = 'inbound'`),
      pending: one(`SELECT count(*) AS n FROM events WHERE dispatch_state <> 'done'`),
      requests: one(`SELECT count(*) AS n FROM events WHERE topic = 'relengd.ostree.compose.requested'`),
      distinctCauses: one(`SELECT count(DISTINCT causation_id) AS n FROM events WHERE topic = 'relengd.ostree.compose.requested'`),
      ids: (db.prepare(`SELECT id FROM events WHERE origin = 'inbound'`).all() as Array<{ id: string }>).map((r) => r.id),
    };
  } finally {
    db.close();
  }
}

async function stopGracefully(d: DaemonProcess): Promise<void> {
  d.child.kill('SIGTERM');
  expect(await d.exited).toBe(0);
}

describe('a daemon killed with SIGKILL loses nothing and processes nothing twice', () => {
  it('dispatches, after restart, a message it stored but had not yet run through the listeners', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    // The state a crash between the inbox commit and the dispatch leaves: the event stored, pending.
    const store = SqliteStore.open(join(dir, 'relengd.db'));
    const intake = new Intake({ store, config: testConfig(dir), clock: systemClock, logger: silentLogger() });
    const [outcome] = await intake.accept([{ transport: 'http', raw: Buffer.from('{}'), headers: {}, decoded: { topic: message(1).topic, id: 'mash-1', data: message(1).body } }]);
    await store.close();
    expect(outcome).toEqual({ kind: 'committed', id: 'mash-1' });
    expect(countRows(join(dir, 'relengd.db'))).toMatchObject({ inbound: 1, pending: 1, requests: 0 });

    const daemon = await spawnDaemon(configFile);
    running.push(daemon);
    await stopGracefully(daemon);
    expect(countRows(join(dir, 'relengd.db'))).toMatchObject({ inbound: 1, pending: 0, requests: 2, distinctCauses: 1 });

    const again = await spawnDaemon(configFile);
    running.push(again);
    await stopGracefully(again);
    expect(countRows(join(dir, 'relengd.db'))).toMatchObject({ inbound: 1, pending: 0, requests: 2 });
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
    const afterCrash = countRows(join(dir, 'relengd.db'));
    // Whatever was acknowledged is on disk, whatever the dispatcher had reached.
    expect(afterCrash.ids).toEqual(expect.arrayContaining(acknowledged));
    // How many of the rest it stored before dying depends on timing; the invariants below do not.

    const second = await spawnDaemon(configFile);
    running.push(second);
    const replies = await Promise.all(Array.from({ length: total }, (_, i) => publishOverHttp(second.url, message(i))));
    await stopGracefully(second);

    expect(replies.every((r) => r.status === 202 || r.status === 200)).toBe(true);
    expect(replies.filter((r) => r.body.status === 'duplicate').length).toBe(afterCrash.inbound);
    const final = countRows(join(dir, 'relengd.db'));
    expect(final).toMatchObject({ inbound: total, pending: 0, requests: 2 * total, distinctCauses: total });
  });
});
