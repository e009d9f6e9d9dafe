/**
 * `relengd status` against a store real runs made: the demo, then a real daemon process taking a
 * Bodhi push, Greenwave's no and a compose that fails, on real OSTree repositories.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEMO_GROUP, DEMO_PUNGI_COMPOSE, DEMO_PUNGI_GROUP, DEMO_VERSION, demoComposeRepo } from '../../src/cli/demo/scenario.ts';
import type { Status } from '../../src/cli/status-report.ts';
import { projectRoot, runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';

const GREENWAVE_TOKEN = 'greenwave-status-0123456789abcdef';
const X86 = `${DEMO_GROUP}-x86_64`;

const daemons: DaemonProcess[] = [];
afterEach(() => daemons.splice(0).forEach((d) => d.child.kill('SIGKILL')));

const revParse = (repo: string, ref: string) => execFileSync('ostree', [`--repo=${repo}`, 'rev-parse', ref], { encoding: 'utf8' }).trim();

async function status(configFile: string): Promise<Status> {
  const run = await runCli(['--config', configFile, 'status', '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Status;
}

async function statusText(configFile: string): Promise<string> {
  const run = await runCli(['--config', configFile, 'status']);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

async function publish(configFile: string, url: string, topic: string, data: unknown, tokenFile?: string): Promise<void> {
  const run = await runCli(['--config', configFile, 'publish', '--url', url, '--topic', topic, '--data', JSON.stringify(data), ...(tokenFile ? ['--token-file', tokenFile] : [])]);
  expect(run.code, run.stderr).toBe(0);
}

describe('relengd status', () => {
  // One demo run for both tests: the first only reads what it left, the second goes on from there.
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relengd-status-'));
    const demo = await runCli(['demo', '--dir', dir, '--json']);
    expect(demo.code, demo.stderr).toBe(0);
  }, 480_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answers what the demo left: each stream's last compose, the version live on each release ref, no daemon up", { timeout: 60_000 }, async () => {
    const s = await status(join(dir, 'relengd.yaml'));

    expect(s.daemon).toEqual({ state: 'down', lastSeen: null, instances: [] });
    for (const stream of s.streams) {
      expect(stream.lastCompose, stream.id).toMatchObject({ status: 'FINISHED', reasons: [] });
      expect(stream.release!.commit).toBe(revParse(join(dir, 'repo'), stream.release!.ref));
      expect(stream.release!.version).toBe(stream.group === DEMO_GROUP ? DEMO_VERSION : '27.20170820.n.0');
    }
    // Pungi's streams: their last compose is Pungi's, their head the commit Pungi made, in its compose repository.
    for (const stream of s.streams.filter((st) => st.group === DEMO_PUNGI_GROUP)) {
      expect(stream.lastCompose).toMatchObject({ composeId: DEMO_PUNGI_COMPOSE, version: DEMO_PUNGI_COMPOSE });
      expect(stream.updates.repo).toBe(demoComposeRepo(dir));
      expect(stream.head).toMatchObject({ pungiComposeId: DEMO_PUNGI_COMPOSE, commit: revParse(demoComposeRepo(dir), stream.updates.ref) });
    }
    expect(s.candidates.map((c) => [c.group, c.version, c.phase, c.gates])).toEqual([
      [DEMO_GROUP, DEMO_VERSION, 'promoted', null],
      [DEMO_PUNGI_GROUP, DEMO_PUNGI_COMPOSE, 'promoted', null],
    ]);

    const text = await statusText(join(dir, 'relengd.yaml'));
    expect(text).toContain('daemon: down');
    expect(text).toContain(`release fedora/26/x86_64/atomic-host = ${s.streams[0]!.release!.commit!.slice(0, 12)} (version ${DEMO_VERSION})`);
  });

  it('shows the daemon up, a candidate waiting on a named gate and the gate that said no, a DOOMED compose and why, and the daemon down once it stops', { timeout: 300_000 }, async () => {
    // Greenwave's service user gets a token: its decisions count only from it (publishers in the demo's config).
    const configFile = join(dir, 'relengd.yaml');
    const tokenFile = join(dir, 'greenwave.token');
    writeFileSync(tokenFile, GREENWAVE_TOKEN);
    const yaml = readFileSync(configFile, 'utf8');
    expect(yaml).toMatch(/^http: .*$/m);
    writeFileSync(configFile, yaml.replace(/^http: .*$/m, `http: { host: 127.0.0.1, port: 0, auth: { tokens: [{ name: greenwave, file: ${tokenFile} }] } }`));

    const daemon = await spawnDaemon(configFile);
    daemons.push(daemon);
    const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    const up = await status(configFile);
    expect(up.daemon.state).toBe('up');
    expect(up.daemon.instances).toEqual([expect.objectContaining({ pid: daemon.child.pid, url: daemon.url, version, up: true })]);
    expect(await statusText(configFile)).toMatch(new RegExp(`daemon: up\\n  pid ${daemon.child.pid} on .*, ${daemon.url}, relengd ${version}, started .*, last heartbeat `));

    // Bodhi pushes new updates: both arches compose a new version, which then waits for Greenwave.
    const updates = join(dir, 'compose', 'f26-updates.json');
    const packages = (JSON.parse(readFileSync(updates, 'utf8')) as { packages: string[] }).packages;
    writeFileSync(updates, JSON.stringify({ packages: [...packages, 'podman-1.0-1.fc26'] }));
    await publish(configFile, daemon.url, 'org.fedoraproject.prod.bodhi.compose.complete', { agent: 'bodhi', ctype: 'rpm', repo: 'f26-updates', success: true });
    const waiting = await vi.waitFor(
      async () => {
        const candidate = (await status(configFile)).candidates.find((c) => c.group === DEMO_GROUP && c.version !== DEMO_VERSION);
        expect(Object.values(candidate?.arches ?? {}).map((a) => a.status)).toEqual(['FINISHED', 'FINISHED']);
        return candidate!;
      },
      { timeout: 120_000, interval: 500 },
    );
    // The demo's streams are signed, and no signer answers this daemon: the "signed" gate waits too.
    expect(waiting).toMatchObject({ phase: 'open', waitingOn: { arches: [], gates: ['greenwave atomic_two_week', 'signed'] }, refusals: [] });
    expect(waiting.gates).toEqual([
      { label: 'greenwave atomic_two_week', state: 'pending', detail: null, decidedBy: null },
      { label: 'signed', state: 'pending', detail: expect.stringMatching(/^x86_64: requested at \S+ \(request \S+, attempt 1 of 3, sent 1×\); aarch64: requested at /), decidedBy: null },
    ]);
    expect(await statusText(configFile)).toContain(`${DEMO_GROUP} ${waiting.version}: open (x86_64 FINISHED, aarch64 FINISHED)\n    waiting on: greenwave atomic_two_week, signed`);

    // Greenwave says no.
    await publish(
      configFile,
      daemon.url,
      'org.fedoraproject.prod.greenwave.decision.update',
      {
        decision_context: 'atomic_two_week',
        product_version: 'fedora-26',
        subject_type: 'compose',
        subject_identifier: `${DEMO_GROUP}-${waiting.version}`,
        policies_satisfied: false,
        summary: '1 of 2 required tests failed',
      },
      tokenFile,
    );
    const refused = await vi.waitFor(
      async () => {
        const candidate = (await status(configFile)).candidates.find((c) => c.version === waiting.version)!;
        expect(candidate.gates![0]!.state).toBe('failed');
        return candidate;
      },
      { timeout: 60_000, interval: 500 },
    );
    expect(refused.waitingOn).toEqual({ arches: [], gates: ['signed'] });
    expect(refused.gates).toEqual([
      {
        label: 'greenwave atomic_two_week',
        state: 'failed',
        detail: 'policies not satisfied: 1 of 2 required tests failed',
        decidedBy: expect.objectContaining({ topic: 'greenwave.decision.update', publisher: 'greenwave' }),
      },
      expect.objectContaining({ label: 'signed', state: 'pending' }),
    ]);
    expect(refused.refusals).toEqual([expect.objectContaining({ reason: 'gate-failed', detail: expect.stringContaining('Greenwave atomic_two_week: policies not satisfied') })]);
    const refusedText = await statusText(configFile);
    expect(refusedText).toContain('gate greenwave atomic_two_week: failed: policies not satisfied: 1 of 2 required tests failed (greenwave.decision.update ');
    expect(refusedText).toContain('refused (gate-failed)');

    // A compose that fails: x86_64's treefile is broken, and an operator asks for a compose.
    writeFileSync(join(dir, 'compose', 'fedora-atomic-host-x86_64.json'), '{ not json');
    const asked = await runCli(['--config', configFile, 'compose', '--stream', X86]);
    expect(asked.code, asked.stderr).toBe(0);
    const doomed = await vi.waitFor(
      async () => {
        const last = (await status(configFile)).streams.find((st) => st.id === X86)!.lastCompose!;
        expect(last.status).toBe('DOOMED');
        return last;
      },
      { timeout: 60_000, interval: 500 },
    );
    expect(doomed.commit).toBeNull();
    expect(doomed.reasons).toEqual([{ kind: 'compose', name: null, error: expect.stringMatching(/exited with 1/), log: expect.any(String), eventId: expect.any(String) }]);
    expect(readFileSync(doomed.reasons[0]!.log!, 'utf8')).toContain('JSON');
    const doomedText = await statusText(configFile);
    expect(doomedText).toMatch(new RegExp(`${X86} .*\\n.*\\n    last compose .*: DOOMED at .*\\n      compose failed: .*exited with 1.* \\(log ${doomed.reasons[0]!.log}\\)`));

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const down = await status(configFile);
    expect(down.daemon.state).toBe('down');
    expect(down.daemon.instances.filter((d) => d.pid === daemon.child.pid && d.up)).toEqual([]);
    expect(await statusText(configFile)).toMatch(/^daemon: down/);
    expect(existsSync(join(dir, 'relengd.db'))).toBe(true);
  });
});
