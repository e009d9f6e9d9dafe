import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { preparePipeline } from '../helpers/pipeline.ts';
import { projectRoot, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const running: DaemonProcess[] = [];
afterEach(() => running.splice(0).forEach((d) => d.child.kill('SIGKILL')));

function query<T>(dbPath: string, sql: string): T[] {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('a daemon killed during a compose', () => {
  it('finishes the work after restart, with one commit per ref, not two', { timeout: 240_000 }, async () => {
    const dir = tempDir();
    // The stand-in composes wait for the gate file: they are running, and cannot finish, until the
    // test has killed the daemon and seen the next one wait for them.
    const gate = join(dir, 'compose-gate');
    const standin = JSON.stringify(join(projectRoot, 'src', 'cli', 'demo', 'standin-compose.ts'));
    const gated = [join(projectRoot, 'test', 'helpers', 'gated-command.ts'), gate, process.execPath].map((a) => JSON.stringify(a)).join(',');
    const { configFile, steps } = await preparePipeline(dir, (yaml) => {
      expect(yaml).toContain(`,${standin},`);
      return yaml.replaceAll(`,${standin},`, `,${gated},${standin},`);
    });
    const db = join(dir, 'relengd.db');
    const first = await spawnDaemon(configFile, { RELENGD_HTTP_PORT: '0' });
    running.push(first);
    const bodhi = steps[0]!;
    writeFileSync(bodhi.prepare!.file, JSON.stringify(bodhi.prepare!.content));
    const reply = await publishOverHttp(first.url, { topic: bodhi.message.topic, id: bodhi.message.id, body: bodhi.message.data });
    expect(reply.status).toBe(202);

    // Both composes are running (their stand-ins wrote pid files) when the daemon dies.
    await vi.waitFor(
      () => {
        const jobs = query<{ id: string }>(db, `SELECT id FROM jobs WHERE kind = 'compose' AND state = 'running'`);
        expect(jobs).toHaveLength(2);
        for (const job of jobs) expect(existsSync(join(dir, 'jobs', job.id, 'command.pid'))).toBe(true);
      },
      { timeout: 60_000, interval: 50 },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect(query(db, `SELECT id FROM events WHERE topic = 'relengd.ostree.compose.finished'`)).toEqual([]);

    const second = await spawnDaemon(configFile, { RELENGD_HTTP_PORT: '0' });
    running.push(second);
    // The restarted daemon waits for both orphaned composes; only then may they finish.
    const waiting = () => second.lines.filter((l) => l.msg === 'command of the interrupted attempt still running; waiting for it to exit');
    await vi.waitFor(() => expect(waiting()).toHaveLength(2), { timeout: 90_000, interval: 50 });
    writeFileSync(gate, '');
    await vi.waitFor(() => expect(query(db, `SELECT id FROM events WHERE topic = 'relengd.compose.finished'`)).toHaveLength(2), { timeout: 90_000, interval: 100 });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const repo = openRepo(join(dir, 'repo'));
    for (const arch of ['x86_64', 'aarch64']) {
      const history = await repo.log(`fedora/26/${arch}/updates/atomic-host`);
      expect(history).toHaveLength(1);
    }
    const finished = query<{ data: string }>(db, `SELECT data FROM events WHERE topic = 'relengd.ostree.compose.finished'`).map((r) => JSON.parse(r.data) as { commit: string | null });
    expect(finished).toHaveLength(2);
    expect(finished.every((f) => f.commit !== null)).toBe(true);
    expect(query<{ attempts: number }>(db, `SELECT attempts FROM jobs WHERE kind = 'compose'`).map((j) => j.attempts)).toEqual([2, 2]);
  });
});
