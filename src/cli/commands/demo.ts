import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { FIRED_TOPIC } from '../../bus/calendar/index.ts';
import { EmbeddedTransport } from '../../bus/embedded/transport.ts';
import { loadConfigFile } from '../../config/index.ts';
import type { ScheduleFired } from '../../events/relengd/schedule.ts';
import { createLogger } from '../../log.ts';
import { madeByOneOf, openRepo, type OstreeRepo } from '../../ostree/index.ts';
import type { StoreApi } from '../../store/api.ts';
import { startDaemon, type Daemon } from '../daemon.ts';
import { prepareStep } from '../demo/prepare.ts';
import { promotionCommitLines } from '../demo/promotion-commits.ts';
import { DEMO_ARCHES, DEMO_SIGNER, demoConfigYaml, demoStory, demoTreefile, storyTime, type DemoSlot } from '../demo/scenario.ts';
import { StandinSigner } from '../demo/standin-signer.ts';
import { StoryClock } from '../demo/story-clock.ts';
import { stopAgent, throwawayKey, type SigningKey } from '../demo/throwaway-key.ts';
import { timelineLine } from '../demo/timeline.ts';

type DemoCompose = { id: string; stream: string; commit: string | null; status: string };
/** A good signature by a configured key, as `ostree show --gpg-homedir=<keyring>` verified it. */
type DemoSignature = { keyId: string; signer: string | null; verified: true };

export interface DemoSummary {
  repo: string;
  store: string;
  config: string;
  composes: DemoCompose[];
  /** Each release ref and its commit, with the signature on it that `ostree` verified against the stand-in signer's keyring (null: none). */
  promoted: Array<{ ref: string; commit: string; signature: DemoSignature | null }>;
  /** What signatures are checked against: the stand-in signer's throwaway key. */
  signing: { keyring: string; keyIds: string[] };
  /** The schedules' firings, each with the composes it made (the daily rebuild: same commit, new compose id). */
  schedule: Array<{ id: string; schedule: string; slot: string; action: string; composes: DemoCompose[] }>;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description("the seed's two stories end to end on the embedded transport, on real OSTree repos: Bodhi push -> OSTree commits -> installer and images (again at the daily schedule's 05:00 slot) -> Greenwave -> promoted refs; and Pungi's nightly -> commits in the compose repo -> Greenwave -> pulled into the public repo and promoted")
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
          ...summary.promoted.map((p) => `release ${p.ref} = ${p.commit}, ${p.signature ? `signed by ${p.signature.keyId} (${p.signature.signer ?? 'unknown user id'}), verified` : 'NOT SIGNED'}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (summary.promoted.length === 0 || summary.promoted.some((p) => !p.signature)) process.exitCode = 1;
    });
}

/** Runs the demo in `dir`; a second run on the same dir finds every message already processed and changes nothing. */
export async function runDemo(dir: string, options: { json: boolean }): Promise<DemoSummary> {
  const logger = createLogger({ level: 'warn', fd: 2 });
  const write = (line: string): void => void (options.json || process.stdout.write(`${line}\n`));
  // Lines go out in the order they were said, those that read the store first included.
  let printed = Promise.resolve();
  const inTurn = (print: () => void | Promise<void>): void => {
    printed = printed.then(print).catch((error: unknown) => logger.warn({ err: error }, 'a timeline line could not be printed'));
  };
  const say = (line: string): void => inTurn(() => write(line));
  for (const sub of ['compose', 'streams']) mkdirSync(join(dir, sub), { recursive: true });
  for (const arch of DEMO_ARCHES) writeFileSync(join(dir, 'compose', `fedora-atomic-host-${arch}.json`), `${JSON.stringify(demoTreefile(arch), null, 2)}\n`);
  const configFile = join(dir, 'relengd.yaml');
  await openRepo(join(dir, 'repo')).init('archive');
  // The stand-in signer's throwaway key: the demo's commits and releases are really signed with it.
  const key = await throwawayKey(join(dir, 'signer'));
  writeFileSync(configFile, demoConfigYaml(dir, process.execPath, { dailyArtifacts: true, signing: { keyring: key.keyring, keyId: key.fingerprint } }));
  const config = loadConfigFile(configFile);

  const started = Date.now();
  const stamp = (): string => `[+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  const transport = new EmbeddedTransport();
  let store: StoreApi | undefined;
  transport.subscribe('#', ({ envelope }) => {
    const line = timelineLine(envelope);
    if (line) say(`${stamp()}   -> ${line}`);
    if (store && envelope.topic === 'relengd.release.promoted') {
      const [from, at] = [store, stamp()];
      inTurn(async () => {
        for (const why of await promotionCommitLines(from, envelope)) write(`${at}      ${why}`);
      });
    }
  });
  const story = demoStory(dir);
  // The daemon starts on the story's first day: its calendar plans from the story's dates, not today's.
  const time = new StoryClock();
  // Waiting jobs look for a signature often here: the stand-in signs at once.
  const daemon = await time.at(storyTime(story[0]!), () =>
    startDaemon({ config, logger, transport, serveHttp: false, clock: time.clock, wakeups: time.wakeups, signPoll: { initialMs: 50, maxMs: 250 } }),
  );
  store = daemon.store;
  const signer = new StandinSigner({ key, deliver: (batch) => transport.inject(batch), publisher: DEMO_SIGNER, topicPrefix: config.topicPrefix, logger });
  const detach = signer.attach(transport);
  // Done when the daemon has nothing left and the signer has answered everything it was asked.
  const settle = async (): Promise<void> => {
    do await daemon.idle();
    while (await signer.idle());
  };
  try {
    await settle();
    for (const step of story) {
      if ('slot' in step) {
        say(`${stamp()} <-  ${step.title}`);
        await reachSlot(daemon, time, step, (line) => say(`${stamp()} ${line}`));
        await settle();
        continue;
      }
      const message = await prepareStep(step);
      const raw = Buffer.from(JSON.stringify(message.data));
      say(`${stamp()} <-  ${step.title}`);
      const [outcome] = await transport.inject([{ transport: 'demo', source: 'operator', raw, headers: message.headers ?? {}, decoded: message }]);
      if (outcome?.kind === 'duplicate') say(`${stamp()}     already processed (message ${message.id}): nothing to do`);
      await settle();
    }
    return await summarize(daemon.store, dir, configFile, key);
  } finally {
    detach();
    await printed; // the store is read for some lines: before it closes
    await daemon.stop();
    await stopAgent(key.gpgHome);
  }
}

/**
 * Moves the story's clock to a schedule's slot, where the calendar fires it, and says what fired
 * (or that it fired in an earlier run: the firing's id is the schedule's and the slot's).
 */
async function reachSlot(daemon: Daemon, time: StoryClock, step: DemoSlot, say: (line: string) => void): Promise<void> {
  const firings = async () => (await daemon.store.events.query({ topic: FIRED_TOPIC, order: 'asc' })).filter((e) => !e.unreadable && Date.parse((e.envelope.data as ScheduleFired).slot) === Date.parse(step.slot));
  const before = new Set((await firings()).map((e) => e.envelope.id));
  await time.reach(step.slot, () => daemon.calendar.idle());
  const fired = await firings();
  for (const e of fired.filter((f) => !before.has(f.envelope.id))) say(`  -> ${timelineLine(e.envelope)}`);
  if (fired.length === 0) say('    no schedule has this slot: nothing fired');
  else if (fired.every((f) => before.has(f.envelope.id))) say(`    already fired (event ${fired.map((f) => f.envelope.id).join(', ')}): nothing to do`);
}

async function summarize(store: StoreApi, dir: string, configFile: string, key: SigningKey): Promise<DemoSummary> {
  const composes = async (correlationId?: string): Promise<DemoCompose[]> =>
    (await store.events.query({ topic: 'relengd.compose.finished', correlationId, order: 'asc' }))
      .map((e) => e.envelope.data as { composeId: string; stream: string; commit: string | null; status: string })
      .map((d) => ({ id: d.composeId, stream: d.stream, commit: d.commit, status: d.status }));
  const latest = new Map<string, string>();
  for (const e of await store.events.query({ topic: 'relengd.release.promoted', order: 'asc' })) {
    for (const r of (e.envelope.data as { refs: Array<{ ref: string; to: string }> }).refs) latest.set(r.ref, r.to);
  }
  const schedule = await Promise.all(
    (await store.events.query({ topic: FIRED_TOPIC, order: 'asc' })).filter((e) => !e.unreadable).map(async (e) => {
      const fired = e.envelope.data as ScheduleFired;
      return { id: e.envelope.id, schedule: fired.schedule, slot: fired.slot, action: fired.action, composes: await composes(e.envelope.id) };
    }),
  );
  const repo = openRepo(join(dir, 'repo'));
  // Checked again here, in the repository, as a client would: the signature on each released commit.
  const promoted = await Promise.all([...latest].map(async ([ref, commit]) => ({ ref, commit, signature: await verifiedSignature(repo, commit, key) })));
  return { repo: repo.path, store: store.location, config: configFile, composes: await composes(), promoted, signing: { keyring: key.keyring, keyIds: [key.fingerprint] }, schedule };
}

async function verifiedSignature(repo: OstreeRepo, commit: string, key: SigningKey): Promise<DemoSignature | null> {
  const good = (await repo.gpgSignatures(commit, key.keyring)).find((s) => s.status === 'good' && madeByOneOf(s, [key.fingerprint]));
  return good ? { keyId: good.keyId, signer: good.signer, verified: true } : null;
}
