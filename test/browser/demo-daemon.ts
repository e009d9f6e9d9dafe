/**
 * A daemon on the demo's data: `relengd demo` runs into a temporary directory, then `relengd start`
 * serves that store on a free port, with two operator tokens (`releng`, whom `publishers` allows to
 * approve, promote, compose, roll back and replay; `outsider`, whom it does not), two watched topics
 * (one heard during the demo, one never) and the x86_64 stream's compose held
 * at its start until the test opens a gate file (test/helpers/gated-command.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { DemoSummary } from '../../src/cli/commands/demo.ts';
import { DEMO_GROUP } from '../../src/cli/demo/scenario.ts';
import { projectRoot, runCli, spawnDaemon, type DaemonProcess } from '../helpers/process.ts';

export const GATED_STREAM = 'f26-atomic-host-x86_64';

/** Who may use the daemon's `POST /replay` (src/trust.ts OPERATOR_ROUTES). */
const REPLAY_RULE = 'relengd.replay.requested';

/**
 * Watched topics: Bodhi's, heard during the demo; ResultsDB's, never heard, so silent a moment
 * (quietHours 0.0002 = 0.72 s) after the daemon starts.
 */
export const WATCHED = [
  { topic: 'bodhi.compose.complete', quietHours: 24 },
  { topic: 'resultsdb.result.new', quietHours: 0.0002 },
];

export interface DemoDaemon {
  dir: string;
  url: string;
  summary: DemoSummary;
  tokens: { releng: string; outsider: string };
  /** Creating this file lets the gated stream's compose command run. */
  gateFile: string;
  daemon: DaemonProcess;
  stop(): Promise<void>;
}

interface StreamYaml {
  id: string;
  group: string;
  ostree: { compose: string[] };
  sign?: unknown;
}

export async function startDemoDaemon(): Promise<DemoDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'relengd-dashboard-'));
  const demo = await runCli(['demo', '--dir', dir, '--json']);
  if (demo.code !== 0) throw new Error(`relengd demo failed (${demo.code}): ${demo.stderr}`);
  const summary = JSON.parse(demo.stdout) as DemoSummary;

  const tokens = { releng: 'releng-dashboard-token-0123456789', outsider: 'outsider-dashboard-token-0123456789' };
  for (const [name, token] of Object.entries(tokens)) writeFileSync(join(dir, `${name}.token`), `${token}\n`, { mode: 0o600 });
  const gateFile = join(dir, 'compose-gate');
  const configFile = join(dir, 'relengd.yaml');
  const config = parse(readFileSync(configFile, 'utf8')) as { http: Record<string, unknown>; publishers: Record<string, string[]>; streams: StreamYaml[]; watch?: unknown[] };
  config.http = { host: '127.0.0.1', port: 0, auth: { tokens: Object.keys(tokens).map((name) => ({ name, file: join(dir, `${name}.token`) })) } };
  config.publishers['relengd.compose.request'] = ['releng'];
  config.publishers['relengd.release.rollback.requested'] = ['releng'];
  config.publishers[REPLAY_RULE] = ['releng'];
  config.watch = WATCHED;
  const gated = config.streams.find((s) => s.id === GATED_STREAM)!;
  gated.ostree.compose = [process.execPath, join(projectRoot, 'test', 'helpers', 'gated-command.ts'), gateFile, ...gated.ostree.compose];
  // The demo's stand-in signer answers only the demo's own daemon: this one promotes its group's
  // second release (and rolls it back) unsigned, so nothing waits for a signature no one will give.
  for (const stream of config.streams) if (stream.group === DEMO_GROUP) delete stream.sign;
  writeFileSync(configFile, stringify(config));

  const daemon = await spawnDaemon(configFile);
  return {
    dir,
    url: daemon.url,
    summary,
    tokens,
    gateFile,
    daemon,
    async stop() {
      // A compose still held at its gate goes on; stopping the daemon ends it either way.
      writeFileSync(gateFile, '');
      daemon.child.kill('SIGTERM');
      await daemon.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
