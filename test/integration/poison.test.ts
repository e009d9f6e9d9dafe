/**
 * Poison over HTTP, against a real daemon process: a non-JSON CloudEvent, a body nested 20,000
 * deep, and a store row that cannot be read (what an older build let in). None of them stops the
 * next message, `relengd events`, or a restart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { testConfigYaml } from '../helpers/config.ts';
import { runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const running: DaemonProcess[] = [];
afterEach(() => running.splice(0).forEach((d) => d.child.kill('SIGKILL')));

const mashed = { topic: 'org.fedoraproject.prod.bodhi.compose.complete', body: { repo: 'f26-updates', success: true, ctype: 'rpm', agent: 'bodhi' } };

function binary(url: string, contentType: string, body: string) {
  return fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': `raw-${contentType}`, 'ce-type': mashed.topic, 'ce-source': '/test', 'content-type': contentType },
    body,
  });
}

describe('poison over HTTP', () => {
  it('refuses non-JSON and over-nested bodies alone, survives an unreadable row, and restarts', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, testConfigYaml(dir));
    const first = await spawnDaemon(configFile, { RELENGD_HTTP_PORT: '0' });
    running.push(first);

    for (const type of ['text/plain', 'application/octet-stream']) {
      const reply = await binary(first.url, type, 'hello');
      expect(reply.status).toBe(415);
      expect(await reply.json()).toMatchObject({ reason: 'media-type' });
    }
    const deep = await binary(first.url, 'application/json', '['.repeat(20_000) + ']'.repeat(20_000));
    expect(deep.status).toBe(400);
    expect(await deep.json()).toMatchObject({ reason: 'not-json' });
    expect(await publishOverHttp(first.url, { ...mashed, id: 'after-poison' })).toMatchObject({ status: 202 });

    // A row an older build stored: its data is not JSON.
    expect(await publishOverHttp(first.url, { ...mashed, id: 'to-corrupt', body: { ...mashed.body, repo: 'nothing-listens' } })).toMatchObject({ status: 202 });
    first.child.kill('SIGKILL');
    await first.exited;
    const db = new DatabaseSync(join(dir, 'relengd.db'));
    db.prepare(`UPDATE events SET data = 'hello', dispatch_state = 'pending' WHERE id = 'to-corrupt'`).run();
    db.close();

    const second = await spawnDaemon(configFile, { RELENGD_HTTP_PORT: '0' });
    running.push(second);
    expect(await publishOverHttp(second.url, { ...mashed, id: 'after-restart' })).toMatchObject({ status: 202 });
    const events = await runCli(['--config', configFile, 'events', '--json', '--limit', '50']);
    expect(events.code, events.stderr).toBe(0);
    const listed = JSON.parse(events.stdout) as Array<{ id: string }>;
    expect(listed.map((e) => e.id)).toEqual(expect.arrayContaining(['after-poison', 'after-restart', 'to-corrupt']));
    const failed = await runCli(['--config', configFile, 'events', '--failed', '--json']);
    expect(failed.code, failed.stderr).toBe(0);
    expect(failed.stdout).toContain('cannot be read');
    const rejected = await runCli(['--config', configFile, 'events', '--rejected', '--json']);
    expect(JSON.parse(rejected.stdout).map((r: { reason: string }) => r.reason).sort()).toEqual(['media-type', 'media-type', 'not-json']);
  });
});
