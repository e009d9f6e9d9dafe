import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { testConfigYaml } from '../helpers/config.ts';
import { runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const daemons: DaemonProcess[] = [];
afterEach(() => daemons.splice(0).forEach((d) => d.child.kill('SIGKILL')));

function configFile(dir: string, extra = ''): string {
  const file = join(dir, 'relengd.yaml');
  writeFileSync(file, testConfigYaml(dir, extra));
  return file;
}

describe('relengd command line', () => {
  it('config check: exit 0 and a summary for a valid file', async () => {
    const file = configFile(tempDir());
    const { code, stdout } = await runCli(['config', 'check', file]);
    expect(code).toBe(0);
    expect(stdout).toContain('ok (transport embedded');
    expect(stdout).toContain('f26-atomic-host-x86_64, f26-atomic-host-aarch64');
  });

  it('config check: exit 2 naming the key path and what was expected', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, testConfigYaml(dir).replace('ref: fedora/26/x86_64/updates/atomic-host', 'ref: "fedora//bad ref"'));
    const { code, stdout } = await runCli(['config', 'check', file, '--json']);
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as { valid: boolean; problems: Array<{ key: string; error: string }> };
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toMatchObject({ key: 'streams[0].ostree.ref' });
    expect(report.problems[0]!.error).toContain('not a valid OSTree ref');
  });

  it('exits 2 for an unknown command, a bad option value and a missing config file', async () => {
    const dir = tempDir();
    const results = await Promise.all([
      runCli(['frobnicate']),
      runCli(['--config', configFile(dir), 'jobs', '--state', 'sleeping']),
      runCli(['--config', join(dir, 'missing.yaml'), 'events']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(results[1]!.stderr).toContain('--state must be one of');
    expect(results[2]!.stderr).toContain('no such file');
  });

  it('publish exits 1 with a clear message when no daemon listens', async () => {
    const dir = tempDir();
    const { code, stderr } = await runCli(['--config', configFile(dir), 'publish', '--url', 'http://127.0.0.1:9', '-t', 'bodhi.compose.complete', '-d', '{"repo":"f26-updates","success":true}']);
    expect(code).toBe(1);
    expect(stderr).toContain('cannot reach relengd at http://127.0.0.1:9');
  });

  it('publish, then events and jobs read the store the daemon writes', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const file = configFile(dir);
    const daemon = await spawnDaemon(file);
    daemons.push(daemon);
    const messageFile = join(dir, 'mashed.json');
    writeFileSync(messageFile, JSON.stringify({ topic: 'org.fedoraproject.prod.bodhi.compose.complete', id: 'cli-1', headers: { 'sent-at': '2026-11-26T10:00:00+00:00' }, body: { repo: 'f26-updates', success: true } }));

    const published = await runCli(['--config', file, 'publish', '--url', daemon.url, '--file', messageFile, '--json']);
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toEqual({ status: 'accepted', id: 'cli-1' });

    const rejected = await runCli(['--config', file, 'publish', '--url', daemon.url, '-t', 'bodhi.compose.complete', '-d', '{"repo":"f26-updates"}']);
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toContain('rejected (schema)');

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);

    const events = await runCli(['--config', file, 'events', '--json', '--topic', '#.compose.requested']);
    const requested = JSON.parse(events.stdout) as Array<{ topic: string; origin: string; causationid: string }>;
    expect(requested.map((e) => [e.topic, e.origin, e.causationid])).toEqual([
      ['relengd.ostree.compose.requested', 'emitted', 'cli-1'],
      ['relengd.ostree.compose.requested', 'emitted', 'cli-1'],
    ]);
    const inbound = JSON.parse((await runCli(['--config', file, 'events', '--json', '--topic', 'bodhi.compose.complete'])).stdout) as Array<{ id: string; time: string; origin: string }>;
    expect(inbound).toMatchObject([{ id: 'cli-1', time: '2026-11-26T10:00:00.000Z', origin: 'inbound' }]);

    const filtered = await runCli(['--config', file, 'events', '--topic', 'org.fedoraproject.prod.bodhi.#', '--limit', '5']);
    expect(filtered.stdout.trim().split('\n')).toHaveLength(1);
    expect(filtered.stdout).toContain('bodhi.compose.complete  cli-1');

    const rejections = await runCli(['--config', file, 'events', '--rejected', '--json']);
    expect(JSON.parse(rejections.stdout)).toMatchObject([{ reason: 'schema', field: 'success', raw: '{"repo":"f26-updates"}' }]);

    const jobs = await runCli(['--config', file, 'jobs', '--json']);
    expect(jobs.code).toBe(0);
    const listed2 = JSON.parse(jobs.stdout) as Array<{ kind: string; queueKey: string; correlationId: string }>;
    expect(listed2.map((j) => [j.kind, j.correlationId])).toEqual([
      ['compose', 'cli-1'],
      ['compose', 'cli-1'],
    ]);
  });

  it('events --rejected shows the size of a rejected body and that only its first bytes were kept', async () => {
    const dir = tempDir();
    const file = configFile(dir, 'retention: { rejectedRawBytes: 16 }');
    const store = Store.open(join(dir, 'relengd.db'), { rejectedRawBytes: 16 });
    const rejection = { transport: 'amqp', topic: 'bodhi.update.comment', messageId: null, publisher: null, field: null, headers: {} };
    store.rejected.insert({ ...rejection, receivedAt: '2026-11-26T12:00:00.000Z', reason: 'too-large', detail: 'message of 5000 bytes exceeds the limit of 4096', raw: Buffer.from(`{"comment":"${'x'.repeat(4986)}"}`) });
    store.rejected.insert({ ...rejection, receivedAt: '2026-11-26T12:00:01.000Z', reason: 'schema', detail: 'comment: required', raw: Buffer.from('{}') });
    store.close();

    const text = await runCli(['--config', file, 'events', '--rejected']);
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n')).toEqual([
      '2026-11-26T12:00:01.000Z  schema        bodhi.update.comment  comment: required  [2 bytes]',
      '2026-11-26T12:00:00.000Z  too-large     bodhi.update.comment  message of 5000 bytes exceeds the limit of 4096  [5000 bytes, first 16 kept]',
    ]);
    const json = JSON.parse((await runCli(['--config', file, 'events', '--rejected', '--json'])).stdout) as unknown[];
    expect(json).toMatchObject([
      { reason: 'schema', raw: '{}', rawSize: 2, rawTruncated: false },
      { reason: 'too-large', raw: '{"comment":"xxxx', rawSize: 5000, rawTruncated: true, rawKeptBytes: 16 },
    ]);
  });

  it('schemas export writes one JSON Schema per topic', async () => {
    const dir = tempDir();
    const { code } = await runCli(['schemas', 'export', join(dir, 'out')]);
    expect(code).toBe(0);
    expect(readdirSync(join(dir, 'out'))).toContain('relengd.compose.finished.json');
  });
});
