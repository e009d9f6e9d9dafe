import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Wakeups } from '../../src/bus/calendar/index.ts';
import { EmbeddedTransport } from '../../src/bus/embedded/transport.ts';
import type { Clock } from '../../src/clock.ts';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { demoConfigYaml, demoSteps, demoTreefile, DEMO_ARCHES, type DemoStep } from '../../src/cli/demo/scenario.ts';
import { parseConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { syncStore } from './sync-store.ts';

/** Writes the demo's treefiles and config (edited by the test) under `dir` and creates the repo. */
export async function preparePipeline(dir: string, edit: (yaml: string) => string = (y) => y) {
  mkdirSync(join(dir, 'compose'), { recursive: true });
  for (const arch of DEMO_ARCHES) writeFileSync(join(dir, 'compose', `fedora-atomic-host-${arch}.json`), JSON.stringify(demoTreefile(arch)));
  const yaml = edit(demoConfigYaml(dir, process.execPath));
  const configFile = join(dir, 'relengd.yaml');
  writeFileSync(configFile, yaml);
  await openRepo(join(dir, 'repo')).init('archive');
  return { yaml, configFile, steps: demoSteps(dir) };
}

/**
 * The demo's pipeline (real OSTree repo, stand-in builders) in process, with its config adjustable
 * by the test: `edit` rewrites the YAML (make the qcow2 builder fail, slow the compose down).
 */
export async function startPipeline(dir: string, edit: (yaml: string) => string = (y) => y, options: { http?: boolean; clock?: Clock; wakeups?: Wakeups } = {}) {
  const { yaml } = await preparePipeline(dir, edit);
  const transport = new EmbeddedTransport();
  const daemon: Daemon = await startDaemon({ config: parseConfig(yaml, { RELENGD_HTTP_PORT: '0' }), logger: silentLogger(), transport, serveHttp: options.http ?? false, clock: options.clock, wakeups: options.wakeups });
  const steps = demoSteps(dir);

  /** Feeds one of the demo's recorded messages (0 Bodhi, 1 Koji repo.done, 2 Greenwave), optionally altered, and waits until all is done. */
  async function feed(index: number, alter: (step: DemoStep) => DemoStep = (s) => s): Promise<void> {
    const step = alter(steps[index]!);
    if (step.prepare) writeFileSync(step.prepare.file, JSON.stringify(step.prepare.content));
    await transport.inject([{ transport: 'test', raw: Buffer.from(JSON.stringify(step.message.data)), headers: {}, decoded: step.message }]);
    await daemon.idle();
  }

  const events = (topic: string) => syncStore(daemon.store).events.query({ topic, order: 'asc' }).map((e) => e.envelope.data as Record<string, unknown>);
  return { daemon, feed, events, steps, repo: openRepo(join(dir, 'repo')) };
}
