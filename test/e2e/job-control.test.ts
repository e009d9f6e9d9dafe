/**
 * `relengd jobs retry|cancel|logs` against real daemon processes, a real OSTree repository and
 * real compose commands (the rpm-ostree stand-in making real commits).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishOverHttp } from '../../src/bus/embedded/client.ts';
import { isProcessAlive, signalGroup } from '../../src/jobs/process.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { StoreApi } from '../../src/store/api.ts';
import { openStore } from '../../src/store/open.ts';
import { Store } from '../../src/store/store.ts';
import { onTestStore } from '../helpers/config.ts';
import { commandsStarted } from '../helpers/executor-context.ts';
import { preparePipeline } from '../helpers/pipeline.ts';
import { projectRoot, runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';
import { tempDir } from '../helpers/tmp.ts';

const LOCAL = `local:${userInfo().username}`;
const RELENG_TOKEN = 'releng-jobs-0123456789abcdef0123';
const CI_TOKEN = 'ci-jobs-0123456789abcdef012345678';
const noEnvToken = { RELENGD_TOKEN: '' };

const daemons: DaemonProcess[] = [];
const stores: StoreApi[] = [];
/** Commands a failed test may have left running. */
const leftovers: number[] = [];
afterEach(async () => {
  daemons.splice(0).forEach((d) => d.child.kill('SIGKILL'));
  for (const s of stores.splice(0)) await s.close();
  for (const pid of leftovers.splice(0)) signalGroup(pid, 'SIGKILL');
});

const quoted = (...args: string[]) => args.map((a) => JSON.stringify(a)).join(',');
const standin = JSON.stringify(join(projectRoot, 'src', 'cli', 'demo', 'standin-compose.ts'));

/** The demo's pipeline with its compose command rewritten by `compose(argvInFrontOfTheStandin)`, started as a real daemon. */
async function startDaemon(dir: string, edit: (yaml: string) => string) {
  const { configFile, steps, yaml } = await preparePipeline(
    dir,
    onTestStore(dir, (yaml) => {
      expect(yaml).toContain(`,${standin},`);
      return edit(yaml);
    }),
  );
  const daemon = await spawnDaemon(configFile, { RELENGD_HTTP_PORT: '0' });
  daemons.push(daemon);
  // The daemon's store (RELENGD_TEST_STORE), read through StoreApi as another process would.
  const store = await openStore(parseConfig(yaml, { RELENGD_HTTP_PORT: '0' }));
  stores.push(store);
  // Bodhi mashed f26-updates: one compose per arch.
  const bodhi = steps[0]!;
  writeFileSync(bodhi.prepare!.file, JSON.stringify(bodhi.prepare!.content));
  const reply = await publishOverHttp(daemon.url, { topic: bodhi.message.topic, id: bodhi.message.id, body: bodhi.message.data });
  expect(reply.status).toBe(202);
  const composeJobs = () => store.jobs.list({ kind: 'compose' });
  const job = async (id: string) => (await store.jobs.get(id))!;
  const data = async (topic: string): Promise<Array<Record<string, unknown>>> =>
    (await store.events.query({ topic, order: 'asc' })).map((e) => ({ ...(e.envelope.data as Record<string, unknown>), id: e.envelope.id, publisher: e.envelope.publisher }));
  return { configFile, daemon, store, composeJobs, job, data };
}

/** A compose id names the group's compose (its arches share it): one arch's compose is the id and the stream. */
function composeOf(j: { spec: unknown }): { composeId: string; stream: string } {
  const { composeId, stream } = j.spec as { composeId: string; stream: string };
  return { composeId, stream };
}

/** Whether an event's data is about `j`'s compose. */
function ofCompose(j: { spec: unknown }): (d: Record<string, unknown>) => boolean {
  return (d) => d.composeId === composeOf(j).composeId && d.stream === composeOf(j).stream;
}

async function stop(daemon: DaemonProcess): Promise<void> {
  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
}

describe('relengd jobs retry', () => {
  it('runs a failed compose again: it composes once, and the pipeline finishes the compose', { timeout: 240_000 }, async () => {
    const dir = tempDir();
    // Each arch's compose fails the first time it runs, and composes for real the second time.
    const failOnce = quoted(join(projectRoot, 'test', 'helpers', 'fail-once.ts'), join(dir, 'failed-once-{arch}'), process.execPath);
    const { configFile, daemon, composeJobs, job, data } = await startDaemon(dir, (yaml) => yaml.replaceAll(`,${standin},`, `,${failOnce},${standin},`));

    await vi.waitFor(async () => expect((await composeJobs()).map((j) => j.state)).toEqual(['failed', 'failed']), { timeout: 60_000, interval: 100 });
    await vi.waitFor(async () => expect((await data('relengd.compose.finished')).map((c) => c.status)).toEqual(['DOOMED', 'DOOMED']), { timeout: 60_000, interval: 100 });
    const failed = (await composeJobs()).find((j) => j.queueKey.endsWith('fedora/26/x86_64/updates/atomic-host'))!;
    const other = (await composeJobs()).find((j) => j.id !== failed.id)!;

    const retried = await runCli(['--config', configFile, 'jobs', 'retry', failed.id, '--comment', 'mirror was down']);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(`retry of job ${failed.id} requested as ${LOCAL}`);

    await vi.waitFor(async () => expect((await job(failed.id)).state).toBe('succeeded'), { timeout: 60_000, interval: 100 });
    // The retry composed once: one more compose command in the job's log, one commit on the ref.
    expect(commandsStarted((await job(failed.id)).logPath!)).toBe(2);
    expect(await openRepo(join(dir, 'repo')).log('fedora/26/x86_64/updates/atomic-host')).toHaveLength(1);
    expect((await data('relengd.ostree.compose.finished')).map((f) => ({ composeId: f.composeId, stream: f.stream }))).toEqual([composeOf(failed)]);
    expect((await data('relengd.job.retried'))).toMatchObject([{ jobId: failed.id, kind: 'compose', retries: 1, requestedBy: LOCAL }]);
    expect((await data('relengd.job.retry.requested'))).toMatchObject([{ jobId: failed.id, comment: 'mirror was down', publisher: LOCAL }]);
    // The compose goes on through its artifacts to a finished compose, as if it had never failed.
    await vi.waitFor(async () => expect((await data('relengd.compose.finished')).filter(ofCompose(failed)).map((c) => c.status)).toEqual(['DOOMED', 'FINISHED']), { timeout: 60_000, interval: 100 });
    expect((await job(other.id)).state).toBe('failed');

    // A succeeded job cannot be retried; an unknown one is named. Neither writes a command.
    const again = await runCli(['--config', configFile, 'jobs', 'retry', failed.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`job ${failed.id} is succeeded; only a failed or cancelled job can be retried`);
    const unknown = await runCli(['--config', configFile, 'jobs', 'retry', 'no-such-job']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no job no-such-job');
    expect((await data('relengd.job.retry.requested'))).toHaveLength(1);

    // The listing shows how long each job ran and where its log is.
    const listing = await runCli(['--config', configFile, 'jobs', '--state', 'succeeded']);
    const line = listing.stdout.split('\n').find((l) => l.includes(failed.id))!;
    expect(line).toMatch(/ compose\s+(\d+[hm])?\d+[sm] /);
    expect(line).toContain(`log ${join(dir, 'jobs', failed.id, 'job.log')}`);
    const listed = JSON.parse((await runCli(['--config', configFile, 'jobs', '--json'])).stdout) as Array<{ id: string; durationMs: number | null; retries: number }>;
    expect(listed.find((j) => j.id === failed.id)).toMatchObject({ retries: 1, durationMs: expect.any(Number) });
    await stop(daemon);
  });
});

describe('relengd jobs cancel', () => {
  it('kills a running compose and everything it started, records it cancelled and dooms the compose; refused without the right token', { timeout: 240_000 }, async () => {
    const dir = tempDir();
    const tokens = join(dir, 'tokens');
    writeFileSync(`${tokens}-releng`, `${RELENG_TOKEN}\n`);
    writeFileSync(`${tokens}-ci`, `${CI_TOKEN}\n`);
    const hang = quoted(join(projectRoot, 'test', 'helpers', 'hang-with-child.ts'), '{workdir}/pids');
    const { configFile, daemon, composeJobs, job, data } = await startDaemon(dir, (yaml) =>
      yaml
        .replace(/^( +compose: ).*$/gm, `$1[${quoted(process.execPath)},${hang}]`)
        .replace('http: { host: 127.0.0.1, port: 8089 }', `http: { host: 127.0.0.1, port: 8089, auth: { tokens: [{ name: releng, file: ${tokens}-releng }, { name: ci, file: ${tokens}-ci }] } }`)
        .replace('  relengd.release.promote.requested: [releng]\n', '  relengd.release.promote.requested: [releng]\n  relengd.job.cancel.requested: [releng]\n  relengd.job.retry.requested: [releng]\n'),
    );

    // Both composes run: each command and its child wrote their pids.
    const pidsOf = (id: string) => readFileSync(join(dir, 'jobs', id, 'pids'), 'utf8').trim().split(' ').map(Number);
    await vi.waitFor(
      async () => {
        const jobs = await composeJobs();
        expect(jobs.map((j) => j.state)).toEqual(['running', 'running']);
        for (const j of jobs) expect(existsSync(join(dir, 'jobs', j.id, 'pids'))).toBe(true);
      },
      { timeout: 60_000, interval: 100 },
    );
    const [overHttp, local] = await composeJobs();
    for (const j of [overHttp!, local!]) leftovers.push(pidsOf(j.id)[0]!);
    const following = runCli(['--config', configFile, 'jobs', 'logs', '--follow', local!.id]);

    // Refused: no token (403), a token nobody has (401), a publisher `publishers` does not allow (403).
    const cancelArgs = (id: string) => ['--config', configFile, 'jobs', 'cancel', id, '--url', daemon.url];
    const command = (id: string) => ({ topic: 'org.fedoraproject.prod.relengd.job.cancel.requested', body: { jobId: id } });
    const [anonymous, unknownToken, notAllowed, anonymousCli] = await Promise.all([
      publishOverHttp(daemon.url, command(local!.id)),
      publishOverHttp(daemon.url, command(local!.id), { token: 'not-a-token-0123456789abcdef01' }),
      publishOverHttp(daemon.url, command(local!.id), { token: CI_TOKEN }),
      runCli(cancelArgs(local!.id), noEnvToken),
    ]);
    expect([anonymous.status, unknownToken.status, notAllowed.status]).toEqual([403, 401, 403]);
    expect(notAllowed.body.error).toContain('sender was ci');
    expect(anonymousCli.code).toBe(1);
    expect(anonymousCli.stdout).toContain('refused (unauthorized)');

    // The allowed publisher cancels the other compose over HTTP.
    const cancelled = await runCli([...cancelArgs(overHttp!.id), '--token-file', `${tokens}-releng`], noEnvToken);
    expect(cancelled.code).toBe(0);
    await vi.waitFor(async () => expect((await job(overHttp!.id)).state).toBe('cancelled'), { timeout: 60_000, interval: 100 });
    for (const pid of pidsOf(overHttp!.id)) expect(isProcessAlive(pid)).toBe(false);
    expect((await job(overHttp!.id)).error).toBe('cancelled by releng');
    // The refused commands changed nothing: the compose they named still runs.
    expect((await job(local!.id)).state).toBe('running');
    for (const pid of pidsOf(local!.id)) expect(isProcessAlive(pid)).toBe(true);

    // An operator on this machine cancels it.
    const localCancel = await runCli(['--config', configFile, 'jobs', 'cancel', local!.id], noEnvToken);
    expect(localCancel.code).toBe(0);
    await vi.waitFor(async () => expect((await job(local!.id)).state).toBe('cancelled'), { timeout: 60_000, interval: 100 });
    for (const pid of pidsOf(local!.id)) expect(isProcessAlive(pid)).toBe(false);

    // The pipeline took each cancel for a failure, with who asked as the reason.
    expect((await data('relengd.job.cancelled'))).toMatchObject([
      { jobId: overHttp!.id, kind: 'compose', was: 'running', requestedBy: 'releng' },
      { jobId: local!.id, kind: 'compose', was: 'running', requestedBy: LOCAL },
    ]);
    expect((await data('relengd.ostree.compose.failed'))).toMatchObject([
      { ...composeOf(overHttp!), error: 'cancelled by releng' },
      { ...composeOf(local!), error: `cancelled by ${LOCAL}` },
    ]);
    await vi.waitFor(async () => expect((await data('relengd.compose.finished')).map((c) => [c.composeId, c.stream, c.status])).toEqual([
      [composeOf(overHttp!).composeId, composeOf(overHttp!).stream, 'DOOMED'],
      [composeOf(local!).composeId, composeOf(local!).stream, 'DOOMED'],
    ]), { timeout: 60_000, interval: 100 });

    // `jobs logs --follow` printed the command's output while it ran and exited once it was cancelled.
    const followed = await following;
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('hang-with-child: running as');
    expect(followed.stdout).toMatch(/cancelled, killed by SIGTERM/);
    expect(followed.stderr).toContain(`job ${local!.id} cancelled: cancelled by ${LOCAL}`);
    const printed = await runCli(['--config', configFile, 'jobs', 'logs', local!.id]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(readFileSync((await job(local!.id)).logPath!, 'utf8'));

    // Cancelling a job that has ended is refused, before anything is written.
    const late = await runCli(['--config', configFile, 'jobs', 'cancel', local!.id]);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`job ${local!.id} already ended (cancelled)`);
    await stop(daemon);
  });
});

describe('relengd jobs logs', () => {
  it('exits 1 naming what is missing, and creates no store', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'relengd.yaml');
    writeFileSync(configFile, `store: { path: ${join(dir, 'relengd.db')} }\njobs: { workdir: ${join(dir, 'jobs')} }\n`);
    const noStore = await runCli(['--config', configFile, 'jobs', 'logs', 'some-job']);
    expect(noStore.code).toBe(1);
    expect(noStore.stderr).toContain(`no store at ${join(dir, 'relengd.db')}`);
    expect(existsSync(join(dir, 'relengd.db'))).toBe(false);

    Store.open(join(dir, 'relengd.db')).close();
    const [unknown, follow] = await Promise.all([runCli(['--config', configFile, 'jobs', 'logs', 'some-job']), runCli(['--config', configFile, 'jobs', 'log', '-f', 'some-job'])]);
    for (const result of [unknown, follow]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('no job some-job');
    }
  }, 120_000);
});
