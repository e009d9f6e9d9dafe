import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { EmbeddedTransport } from '../../bus/embedded/transport.ts';
import { loadConfigFile } from '../../config/index.ts';
import { createLogger } from '../../log.ts';
import { openRepo } from '../../ostree/index.ts';
import type { Store } from '../../store/store.ts';
import { startDaemon } from '../daemon.ts';
import { prepareStep } from '../demo/prepare.ts';
import { DEMO_ARCHES, demoConfigYaml, demoPungiSteps, demoSteps, demoTreefile } from '../demo/scenario.ts';
import { timelineLine } from '../demo/timeline.ts';

export interface DemoSummary {
  repo: string;
  store: string;
  config: string;
  composes: Array<{ id: string; stream: string; commit: string | null; status: string }>;
  promoted: Array<{ ref: string; commit: string }>;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description("the seed's two stories end to end on the embedded transport, on real OSTree repos: Bodhi push -> OSTree commits -> installer and images -> Greenwave -> promoted refs; and Pungi's nightly -> commits in the compose repo -> Greenwave -> pulled into the public repo and promoted")
    .option('--dir <dir>', 'where the repo, store, config and job files go', join(tmpdir(), 'relengd-demo'))
    .option('--json', 'print one JSON document at the end instead of the timeline')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const summary = await runDemo(resolve(opts.dir), { json: Boolean(opts.json) });
      if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        const lines = [
          '',
          `repo    ${summary.repo}`,
          `store   ${summary.store}`,
          `config  ${summary.config}   (try: npm run relengd -- events --config ${summary.config})`,
          ...summary.promoted.map((p) => `release ${p.ref} = ${p.commit}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (summary.promoted.length === 0) process.exitCode = 1;
    });
}

/** Runs the demo in `dir`; a second run on the same dir finds every message already processed and changes nothing. */
export async function runDemo(dir: string, options: { json: boolean }): Promise<DemoSummary> {
  const say = (line: string): void => void (options.json || process.stdout.write(`${line}\n`));
  for (const sub of ['compose', 'streams']) mkdirSync(join(dir, sub), { recursive: true });
  for (const arch of DEMO_ARCHES) writeFileSync(join(dir, 'compose', `fedora-atomic-host-${arch}.json`), `${JSON.stringify(demoTreefile(arch), null, 2)}\n`);
  const configFile = join(dir, 'relengd.yaml');
  writeFileSync(configFile, demoConfigYaml(dir, process.execPath));
  const config = loadConfigFile(configFile);
  await openRepo(join(dir, 'repo')).init('archive');

  const started = Date.now();
  const stamp = (): string => `[+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  const transport = new EmbeddedTransport();
  transport.subscribe('#', ({ envelope }) => {
    const line = timelineLine(envelope);
    if (line) say(`${stamp()}   -> ${line}`);
  });
  const daemon = await startDaemon({ config, logger: createLogger({ level: 'warn', fd: 2 }), transport, serveHttp: false });
  try {
    await daemon.idle();
    for (const step of [...demoSteps(dir), ...demoPungiSteps(dir)]) {
      const message = await prepareStep(step);
      const raw = Buffer.from(JSON.stringify(message.data));
      say(`${stamp()} <-  ${step.title}`);
      const [outcome] = await transport.inject([{ transport: 'demo', source: 'operator', raw, headers: message.headers ?? {}, decoded: message }]);
      if (outcome?.kind === 'duplicate') say(`${stamp()}     already processed (message ${message.id}): nothing to do`);
      await daemon.idle();
    }
    return summarize(daemon.store, dir, configFile);
  } finally {
    await daemon.stop();
  }
}

function summarize(store: Store, dir: string, configFile: string): DemoSummary {
  const composes = store.events
    .query({ topic: 'relengd.compose.finished', order: 'asc' })
    .map((e) => e.envelope.data as { composeId: string; stream: string; commit: string | null; status: string })
    .map((d) => ({ id: d.composeId, stream: d.stream, commit: d.commit, status: d.status }));
  const latest = new Map<string, string>();
  for (const e of store.events.query({ topic: 'relengd.release.promoted', order: 'asc' })) {
    for (const r of (e.envelope.data as { refs: Array<{ ref: string; to: string }> }).refs) latest.set(r.ref, r.to);
  }
  return { repo: join(dir, 'repo'), store: store.path, config: configFile, composes, promoted: [...latest].map(([ref, commit]) => ({ ref, commit })) };
}
