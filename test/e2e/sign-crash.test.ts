/**
 * A daemon killed while it waits for signatures: after the restart it resumes the same waits (the
 * deadline its first attempt set, read back from the job directory), sends no request a second
 * time, and takes the signer's replies that come in meanwhile. Real processes, SIGKILL, real
 * OSTree and GnuPG.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { DEMO_ARCHES, DEMO_GROUP, demoConfigYaml, demoSteps, demoTreefile } from '../../src/cli/demo/scenario.ts';
import { signCommit } from '../../src/cli/demo/standin-signer.ts';
import { stopAgent, throwawayKey } from '../../src/cli/demo/throwaway-key.ts';
import type { OstreeSignRequest } from '../../src/events/inbound/sign.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { SIGNATURES, type SignatureRecord } from '../../src/pipeline/listeners/sign-state.ts';
import { spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const running: DaemonProcess[] = [];
const agents: string[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) d.child.kill('SIGKILL');
  await Promise.all(agents.splice(0).map(stopAgent));
});

const WAIT = { timeout: 120_000, interval: 100 };
const SIGNER_TOKEN = 'signer-token-0123456789abcdef';
const GREENWAVE_TOKEN = 'greenwave-token-0123456789abcdef';
const ENV = { RELENGD_HTTP_PORT: '0', SIGNER_TOKEN, GREENWAVE_TOKEN };

function query<T>(db: string, sql: string): T[] {
  const handle = new DatabaseSync(db, { readOnly: true });
  try {
    return handle.prepare(sql).all() as T[];
  } finally {
    handle.close();
  }
}

describe('a daemon killed while it waits for signatures', () => {
  it('resumes waiting after the restart: no second request, no lost reply, and the release goes out signed', { timeout: 300_000 }, async () => {
    const dir = tempDir();
    const key = await throwawayKey(join(dir, 'signer'));
    agents.push(key.gpgHome);
    mkdirSync(join(dir, 'compose'), { recursive: true });
    for (const arch of DEMO_ARCHES) writeFileSync(join(dir, 'compose', `fedora-atomic-host-${arch}.json`), JSON.stringify(demoTreefile(arch)));
    const yaml = demoConfigYaml(dir, process.execPath, { signing: { keyring: key.keyring, keyId: key.fingerprint } }).replace(
      'http: { host: 127.0.0.1, port: 8089 }',
      'http: { host: 127.0.0.1, port: 8089, auth: { tokens: [{ name: robosignatory, env: SIGNER_TOKEN }, { name: greenwave, env: GREENWAVE_TOKEN }] } }',
    );
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, yaml);
    await openRepo(join(dir, 'repo')).init('archive');
    const db = join(dir, 'relengd.db');
    const topicRows = (topic: string) => query<{ data: string }>(db, `SELECT data FROM events WHERE topic = '${topic}' ORDER BY seq`).map((r) => JSON.parse(r.data) as Record<string, unknown>);
    const requests = () => topicRows('coreos.build.request.ostree-sign') as unknown as OstreeSignRequest[];
    const waitJobs = () => query<{ id: string; state: string; attempts: number }>(db, `SELECT id, state, attempts FROM jobs WHERE kind = 'sign-wait' ORDER BY created_at, rowid`);
    const steps = demoSteps(dir);
    const post = (url: string, message: { topic: string; id?: string; data: unknown }, token?: string) => publishOverHttp(url, { topic: message.topic, id: message.id, body: message.data }, { token });
    const reply = (request: OstreeSignRequest) => ({ topic: 'org.fedoraproject.prod.coreos.build.request.ostree-sign.finished', data: { ...request, status: 'SUCCESS' } });

    const first = await spawnDaemon(configFile, ENV);
    running.push(first);
    writeFileSync(steps[0]!.prepare!.file, JSON.stringify(steps[0]!.prepare!.content));
    expect((await post(first.url, steps[0]!.message)).status).toBe(202);
    // Both commits' signatures are requested and waited for when the daemon dies.
    await vi.waitFor(() => {
      expect(requests()).toHaveLength(2);
      const jobs = waitJobs();
      expect(jobs.map((j) => j.state)).toEqual(['running', 'running']);
      for (const job of jobs) expect(existsSync(join(dir, 'jobs', job.id, 'wait.json'))).toBe(true);
    }, WAIT);
    const waitsBefore = waitJobs().map((j) => readFileSync(join(dir, 'jobs', j.id, 'wait.json'), 'utf8'));
    first.child.kill('SIGKILL');
    await first.exited;

    // While relengd is down the signer signs both commits; its replies reach the restarted daemon.
    const asked = requests();
    for (const request of asked) await signCommit({ repo: join(dir, 'repo'), commit: request.checksum.slice('sha256:'.length) }, key);
    const second = await spawnDaemon(configFile, ENV);
    running.push(second);
    for (const request of asked) expect((await post(second.url, reply(request), SIGNER_TOKEN)).status).toBe(202);

    const commits = asked.map((r) => r.checksum.slice('sha256:'.length));
    const records = () => commits.map((c) => JSON.parse(query<{ value: string }>(db, `SELECT value FROM state WHERE namespace = '${SIGNATURES}' AND key = '${c}'`)[0]!.value) as SignatureRecord);
    await vi.waitFor(() => expect(records().map((r) => [r.state, r.replies.map((x) => x.status)])).toEqual([['verified', ['SUCCESS']], ['verified', ['SUCCESS']]]), WAIT);
    // The same two waits, run again and resumed: their deadline is the first attempt's; no request went out twice.
    await vi.waitFor(() => expect(waitJobs().map((j) => [j.state, j.attempts])).toEqual([['succeeded', 2], ['succeeded', 2]]), WAIT);
    expect(waitJobs().map((j) => readFileSync(join(dir, 'jobs', j.id, 'wait.json'), 'utf8'))).toEqual(waitsBefore);
    expect(second.lines.filter((l) => l.msg === 'resuming the wait for a signature begun by an earlier attempt; nothing is sent again')).toHaveLength(2);
    expect(requests()).toHaveLength(2);
    expect(topicRows('relengd.sign.requested')).toHaveLength(2);

    // Greenwave passes it; the promotion's own commits are signed the same way, then the refs move.
    // (Over HTTP the messages carry no time of their own: the version is of today's date.)
    await vi.waitFor(() => expect(topicRows('relengd.compose.finished')).toHaveLength(2), WAIT);
    const label = `${DEMO_GROUP}-${String(topicRows('relengd.compose.finished')[0]!.version)}`;
    const greenwave = steps[2]!.message;
    const decision = { ...(greenwave.data as Record<string, unknown>), subject_identifier: label, subject: [{ 'productmd.compose.id': label }] };
    expect((await post(second.url, { ...greenwave, data: decision }, GREENWAVE_TOKEN)).status).toBe(202);
    await vi.waitFor(() => expect(requests()).toHaveLength(4), WAIT);
    for (const request of requests().slice(2)) {
      await signCommit({ repo: join(dir, 'repo'), commit: request.checksum.slice('sha256:'.length) }, key);
      expect((await post(second.url, reply(request), SIGNER_TOKEN)).status).toBe(202);
    }
    await vi.waitFor(() => expect(topicRows('relengd.release.promoted')).toHaveLength(1), WAIT);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
