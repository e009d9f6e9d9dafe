/**
 * `npm run chaos`: relengd under crashes and broker restarts, checked for loss and double effects.
 *
 * A private RabbitMQ node (test/integration/amqp/private-node.ts: the shared broker is never
 * touched), a real OSTree repo and the demo's stand-in builders (real `ostree commit`s), relengd as
 * a real child process on the amqp transport. CHAOS_MESSAGES Fedora-shaped messages are published
 * with publisher confirms (re-sent when a confirm is lost, as Fedora Messaging does), mostly noise
 * that relengd stores but that composes nothing, with a Bodhi push of f26-updates every
 * CHAOS_MASH_EVERY messages (real composes, artifacts) and a Greenwave decision half-way between
 * two pushes (promotions). Meanwhile relengd and everything it started is SIGKILLed CHAOS_KILLS
 * times and restarted, and the broker is restarted (stop_app/start_app) CHAOS_RESTARTS times, at
 * moments drawn from CHAOS_SEED. When publishing is over and relengd has drained (nothing pending
 * in the store, no job queued or running, the queue empty), the store (read-only) and the repo
 * (`ostree log`/`rev-parse`) are compared with what was published. Exit 1 on any loss or double
 * effect; 2 when the run itself could not be carried out.
 *
 *   CHAOS_MESSAGES       messages to publish (default 20000)
 *   CHAOS_KILLS          SIGKILLs of relengd's process tree (default 5)
 *   CHAOS_RESTARTS       broker restarts (default 2)
 *   CHAOS_SEED           seed of the plan (default: random, printed; set it to repeat a run)
 *   CHAOS_RATE           messages per second, 0 = as fast as the broker confirms (default 250)
 *   CHAOS_MASH_EVERY     one Bodhi push of f26-updates every N messages (default 1000)
 *   CHAOS_COMPOSE_DELAY  seconds the stand-in compose takes before committing (default 1)
 *   CHAOS_DRAIN_TIMEOUT  seconds to wait for relengd to drain after publishing (default 600)
 *   CHAOS_KEEP           1: keep the run's directory (store, repo, relengd logs) and print it
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseSync } from 'node:sqlite';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { DEMO_ARCHES, DEMO_GROUP } from '../../src/cli/demo/scenario.ts';
import { startPrivateNode, type PrivateNode } from '../integration/amqp/private-node.ts';
import { preparePipeline } from '../helpers/pipeline.ts';
import { buildMessage, planMessages, PREFIX, UNKNOWN_TOPIC_BINDING, type Built, type World } from './messages.ts';
import { ConfirmPublisher } from './publisher.ts';
import { randomInt, seededRandom } from './random.ts';
import { RelengdProcess } from './relengd-process.ts';
import { inspect, storeBacklog, type Inspection, type PublishedMessage, type StreamRefs } from './verify.ts';

function intEnv(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name} must be an integer >= ${min}, got ${raw}`);
    process.exit(2);
  }
  return value;
}

const MESSAGES = intEnv('CHAOS_MESSAGES', 20_000, 1);
const KILLS = intEnv('CHAOS_KILLS', 5);
const RESTARTS = intEnv('CHAOS_RESTARTS', 2);
const SEED = intEnv('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31));
const RATE = intEnv('CHAOS_RATE', 250);
const MASH_EVERY = intEnv('CHAOS_MASH_EVERY', 1000, 2);
const COMPOSE_DELAY = intEnv('CHAOS_COMPOSE_DELAY', 1);
const DRAIN_TIMEOUT_S = intEnv('CHAOS_DRAIN_TIMEOUT', 600, 1);
const KEEP = process.env.CHAOS_KEEP === '1';
/** Unconfirmed publishes at most in flight. */
const WINDOW = 500;
/** A producer re-sending a message it already had confirmed (same id, same bytes), now and then. */
const RESEND_PROBABILITY = 0.005;
const QUEUE = 'chaos-relengd';
const DEAD_LETTER = 'chaos-relengd.dead';
const WATCH_QUEUE = 'chaos-watch-relengd-events';
const UPDATES_REPO_PACKAGES = ['kernel-4.11.8-300.fc26', 'ostree-2017.7-1.fc26', 'rpm-ostree-2017.6-3.fc26'];

const t0 = Date.now();
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const log = (line: string): void => void process.stderr.write(`[chaos ${elapsed()}] ${line}\n`);

interface ChaosEvent {
  kind: 'kill' | 'broker-restart';
  /** Fired once this many messages have been handed to the publisher. */
  at: number;
  /** kill: pause before restarting relengd; broker-restart: how long the broker stays down. */
  pauseMs: number;
}

function planChaos(random: () => number): ChaosEvent[] {
  const events: ChaosEvent[] = [];
  for (let i = 0; i < KILLS; i++) events.push({ kind: 'kill', at: randomInt(random, 1, MESSAGES), pauseMs: randomInt(random, 0, 2000) });
  for (let i = 0; i < RESTARTS; i++) events.push({ kind: 'broker-restart', at: randomInt(random, 1, MESSAGES), pauseMs: randomInt(random, 1000, 5000) });
  return events.sort((a, b) => a.at - b.at);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The demo's config on the private node: amqp transport, a free HTTP port, Greenwave decisions from `guest`, a slower stand-in compose. */
function chaosConfig(yaml: string, amqpUrl: string, port: number): string {
  const edits: Array<[string | RegExp, string]> = [
    ['bus: { transport: embedded }', `bus:\n  transport: amqp\n  amqp: { url: "${amqpUrl}", queue: ${QUEUE}, deadLetter: ${DEAD_LETTER}, prefetch: 500, deliveryLimit: 5, bindings: ["${UNKNOWN_TOPIC_BINDING}"] }`],
    [/http: \{ host: 127\.0\.0\.1, port: \d+ \}/, `http: { host: 127.0.0.1, port: ${port} }`],
    ['greenwave.decision.update: [greenwave]', 'greenwave.decision.update: [guest]'],
    [/"--add-metadata-string=version=\{version\}",/g, `"--add-metadata-string=version={version}","--delay-seconds=${COMPOSE_DELAY}",`],
  ];
  for (const [from, to] of edits) {
    const next = yaml.replace(from, to);
    if (next === yaml) throw new Error(`the demo config changed: cannot find ${String(from)} in it (update test/chaos/run.ts)`);
    yaml = next;
  }
  return yaml;
}

/** Counts a queue's messages, unacknowledged ones included (AMQP's passive declare counts only ready ones). */
async function queueDepth(node: PrivateNode, queue: string): Promise<number | null> {
  const out = await node.ctl('list_queues', '--quiet', '--no-table-headers', 'name', 'messages').catch(() => null);
  if (out === null) return null;
  for (const line of out.split('\n')) {
    const [name, n] = line.trim().split(/\s+/);
    if (name === queue) return Number(n);
  }
  return null;
}

/** Takes every message off a queue: their message ids, and the reason relengd gave (dead letters). */
async function drainQueue(channel: Channel, queue: string): Promise<Array<{ id: string; reason: string | null }>> {
  const taken: Array<{ id: string; reason: string | null }> = [];
  for (;;) {
    const m = await channel.get(queue, { noAck: true });
    if (m === false) return taken;
    const reason = m.properties.headers?.['x-relengd-error'];
    taken.push({ id: String(m.properties.messageId), reason: reason === undefined ? null : String(reason) });
  }
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

let cleanup: (() => Promise<void>) | null = null;
// A second signal while cleaning up changes nothing: the private node must still be stopped.
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(signalled ? `${sig}: still cleaning up` : `${sig}: cleaning up`);
    if (signalled) return;
    signalled = true;
    void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'relengd-chaos-'));
  let node: PrivateNode | null = null;
  let nodeStarting: Promise<PrivateNode> | null = null;
  let relengd: RelengdProcess | null = null;
  let publisher: ConfirmPublisher | null = null;
  let admin: ChannelModel | null = null;
  // Once, whoever asks first (the end of the run, an error, a signal); everyone waits for the same end.
  let cleaning: Promise<void> | null = null;
  cleanup = () => (cleaning ??= (async () => {
    await relengd?.dispose().catch((e: unknown) => log(`killing relengd: ${(e as Error).message}`));
    await publisher?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    // A signal during the node's start: wait for it, then stop it.
    const started = node ?? (await nodeStarting?.catch(() => null)) ?? null;
    await started?.stop().catch((e: unknown) => log(`stopping the private node: ${(e as Error).message}`));
    if (KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  })());

  try {
    log(`seed ${SEED} (CHAOS_SEED=${SEED} repeats this plan): ${MESSAGES} messages at ${RATE || 'unlimited'} msg/s, ${KILLS} kills, ${RESTARTS} broker restarts; directory ${dir}`);
    log('starting a private RabbitMQ node');
    nodeStarting = startPrivateNode();
    node = await nodeStarting;
    log(`private node ${node.nodeName} at ${node.url.replace(/\/\/[^@]*@/, '//')}`);

    const port = await freePort();
    const { configFile } = await preparePipeline(dir, (yaml) => chaosConfig(yaml, node!.url, port));
    const updatesFile = join(dir, 'compose', 'f26-updates.json');
    const writeUpdates = (packages: string[]): void => {
      // Renamed into place: a compose running now reads the old content or the new, never half of it.
      writeFileSync(`${updatesFile}.tmp`, JSON.stringify({ packages }));
      renameSync(`${updatesFile}.tmp`, updatesFile);
    };
    writeUpdates(UPDATES_REPO_PACKAGES);
    const repo = join(dir, 'repo');
    const dbPath = join(dir, 'relengd.db');
    const streams: StreamRefs[] = DEMO_ARCHES.map((arch) => ({ stream: `f26-atomic-host-${arch}`, ref: `fedora/26/${arch}/updates/atomic-host`, releaseRef: `fedora/26/${arch}/atomic-host` }));

    // relengd's own events, as anyone on the bus sees them: checked against its outbox at the end.
    admin = await connect(node.url);
    const adminChannel = await admin.createChannel();
    await adminChannel.assertQueue(WATCH_QUEUE, { durable: true });
    await adminChannel.bindQueue(WATCH_QUEUE, 'amq.topic', `${PREFIX}.relengd.#`);
    await admin.close();
    admin = null;

    const scratch = join(dir, 'tmp');
    mkdirSync(scratch);
    relengd = new RelengdProcess({ configFile, logDir: dir, port, amqpUrl: node.url, tmpDir: scratch });
    await relengd.start();
    log(`relengd started (pid ${relengd.pid}, HTTP on 127.0.0.1:${port})`);

    const planRandom = seededRandom(SEED);
    const planned = planMessages(SEED, MESSAGES, MASH_EVERY, planRandom);
    const chaos = planChaos(planRandom);
    log(`plan: ${chaos.map((e) => `${e.kind} at message ${e.at} (${e.kind === 'kill' ? 'restart after' : 'down for'} ${e.pauseMs} ms)`).join('; ') || 'no chaos'}`);
    const contentRandom = seededRandom(SEED ^ 0x5eed);

    // Greenwave looks at what finished: the newest version every arch finished with an accepted status.
    const decided = new Set<string>();
    const world: World = {
      group: DEMO_GROUP,
      mash: (n) => writeUpdates([...UPDATES_REPO_PACKAGES, `chaos-update-${n}-1.fc26`]),
      decisionSubject: () => {
        const db = new DatabaseSync(dbPath, { readOnly: true });
        try {
          const rows = db.prepare(`SELECT data FROM events WHERE topic = 'relengd.compose.finished' ORDER BY seq`).all() as Array<{ data: string }>;
          const arches = new Map<string, Set<string>>();
          for (const { data } of rows) {
            const body = JSON.parse(data) as { version: string; stream: string; status: string };
            if (body.status === 'DOOMED') continue;
            arches.set(body.version, (arches.get(body.version) ?? new Set()).add(body.stream));
          }
          const ready = [...arches].filter(([, s]) => s.size === DEMO_ARCHES.length).map(([v]) => v);
          const version = ready.at(-1);
          if (version === undefined || decided.has(version)) return null;
          decided.add(version);
          return `${DEMO_GROUP}-${version}`;
        } finally {
          db.close();
        }
      },
    };

    // Publishing, paced, with confirms, through whatever the chaos does to the broker.
    publisher = new ConfirmPublisher(node.url, log);
    const published = new Map<string, PublishedMessage>();
    const built: Built[] = [];
    let handedOut = 0;
    const mashes = { n: 0 };
    let resentOnPurpose = 0;
    const kinds: Record<string, number> = {};
    const publishing = (async () => {
      const inflight = new Set<Promise<void>>();
      const started = Date.now();
      const track = (b: Built): void => {
        const p: Promise<void> = publisher!.send(b.wire).then(() => {
          published.set(b.id, { seq: b.seq, kind: b.kind });
          inflight.delete(p);
        });
        // Rejects only when the publisher is closed (a signal is cleaning up): the loop below sees it, no need to crash here.
        p.catch(() => undefined);
        inflight.add(p);
      };
      for (const p of planned) {
        if (RATE > 0) {
          const wait = started + (p.seq * 1000) / RATE - Date.now();
          if (wait > 0) await sleep(wait);
        }
        while (inflight.size >= WINDOW) await Promise.race(inflight);
        const b = buildMessage(p, world, contentRandom, mashes);
        kinds[b.kind] = (kinds[b.kind] ?? 0) + 1;
        if (b.kind === 'mash') log(`message ${p.seq}: Bodhi push #${mashes.n} of f26-updates`);
        if (b.kind === 'decision') log(`message ${p.seq}: Greenwave decision for ${b.subject}`);
        built.push(b);
        track(b);
        handedOut = p.seq + 1;
        if (contentRandom() < RESEND_PROBABILITY && published.size > 0) {
          const again = built[randomInt(contentRandom, 0, built.length)]!;
          if (published.has(again.id)) {
            resentOnPurpose++;
            track(again);
          }
        }
        if (handedOut % 5000 === 0) log(`${handedOut} messages handed to the publisher, ${published.size} confirmed`);
      }
      await Promise.all(inflight);
      log(`publishing done: ${published.size} confirmed (${publisher!.stats.sends} sends)`);
    })();

    // The chaos, each once the publisher has reached its message: kills in one track, broker
    // restarts in another (a restart takes the broker ~20 s on a busy machine), so they may overlap.
    const chaosLog: string[] = [];
    const track = async (kind: ChaosEvent['kind']): Promise<void> => {
      for (const event of chaos.filter((e) => e.kind === kind)) {
        while (handedOut < event.at) await sleep(20);
        if (event.kind === 'kill') {
          const running = runningJobs(dbPath);
          const victims = await relengd!.killTree();
          const line = `kill at message ${event.at} (${elapsed().trim()}): SIGKILL relengd (run ${relengd!.incarnation}) and ${victims} processes it started; jobs running: ${running.join(', ') || 'none'}`;
          chaosLog.push(line);
          log(line);
          await sleep(event.pauseMs);
          await relengd!.start(300_000);
          log(`relengd restarted (pid ${relengd!.pid})`);
        } else {
          log(`broker restart at message ${event.at}: stop_app`);
          const stopping = Date.now();
          await node!.ctl('stop_app');
          const down = Date.now();
          log(`broker stopped (stop_app took ${down - stopping} ms)`);
          await sleep(event.pauseMs);
          await node!.ctl('start_app');
          const up = Date.now();
          await sleep(1000);
          const waited = await relengd!.waitReady(300_000);
          const line = `broker restart at message ${event.at} (${elapsed().trim()}): down ${((up - down) / 1000).toFixed(1)} s (stop_app took ${((down - stopping) / 1000).toFixed(1)} s); relengd consuming again ${((waited + 1000) / 1000).toFixed(1)} s after start_app`;
          chaosLog.push(line);
          log(line);
        }
      }
    };
    const chaosDone = Promise.all([track('kill'), track('broker-restart')]);
    await Promise.all([publishing, chaosDone]);

    // Drained: nothing pending in the store, no job to run, the queue empty, three polls in a row.
    log('waiting for relengd to drain');
    const drainStarted = Date.now();
    let quiet = 0;
    let drained = false;
    let last = '';
    while (Date.now() - drainStarted < DRAIN_TIMEOUT_S * 1000) {
      const backlog = storeBacklog(dbPath);
      const depth = await queueDepth(node, QUEUE);
      last = `pending events ${backlog.pendingEvents}, jobs queued/running ${backlog.activeJobs}, outbox ${backlog.outboxPending}, queue ${depth ?? '?'}`;
      quiet = backlog.pendingEvents === 0 && backlog.activeJobs === 0 && backlog.outboxPending === 0 && depth === 0 ? quiet + 1 : 0;
      if (quiet >= 3) {
        drained = true;
        break;
      }
      await sleep(1000);
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    log(drained ? `drained in ${drainSeconds.toFixed(1)} s` : `NOT drained after ${DRAIN_TIMEOUT_S} s: ${last}`);

    const exit = await relengd.stop();
    log(`relengd stopped: ${exit ? `exit ${exit.code ?? exit.signal}` : 'was not running'}`);

    admin = await connect(node.url);
    const reader = await admin.createChannel();
    const seen = await drainQueue(reader, WATCH_QUEUE);
    const deadLettered = await drainQueue(reader, DEAD_LETTER).catch(() => []);
    await admin.close();
    admin = null;

    const result = inspect({ dbPath, repo, streams, published, seenOnBus: new Set(seen.map((m) => m.id)) });
    const failures = report(result, {
      drained,
      drainSeconds,
      lastBacklog: last,
      relengdExit: exit?.code ?? null,
      kinds,
      resentOnPurpose,
      publisher: publisher.stats,
      chaosLog,
      deadLettered: deadLettered.filter((m) => published.has(m.id)),
      incarnations: relengd.incarnation,
      seenOnBus: seen.length,
    });
    if (failures.length > 0) {
      const errors = relengdErrors(relengd);
      if (errors.length > 0) console.log(`relengd logged ${errors.length} errors; the last:\n  ${errors.slice(-5).join('\n  ')}`);
    }
    console.log(`${failures.length === 0 ? 'PASS' : 'FAIL'}: seed ${SEED}, ${MESSAGES} messages, ${KILLS} kills, ${RESTARTS} broker restarts in ${formatDuration(Date.now() - t0)}${failures.length ? ` — ${failures.join('; ')}` : ''}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

function runningJobs(dbPath: string): string[] {
  try {
    const db = new DatabaseSync(dbPath, { readOnly: true });
    try {
      return (db.prepare(`SELECT kind, json_extract(spec, '$.stream') AS stream, json_extract(spec, '$.name') AS name FROM jobs WHERE state = 'running'`).all() as Array<{ kind: string; stream: string | null; name: string | null }>).map(
        (j) => `${j.kind}${j.name ? ` ${j.name}` : ''}${j.stream ? ` ${j.stream}` : ''}`,
      );
    } finally {
      db.close();
    }
  } catch {
    return ['(store unreadable)'];
  }
}

function relengdErrors(relengd: RelengdProcess): string[] {
  const lines: string[] = [];
  for (let i = 1; i <= relengd.incarnation; i++) {
    try {
      for (const line of readFileSync(relengd.logFile(i), 'utf8').split('\n')) {
        if (/"level":(50|60)/.test(line) || /^(Error|TypeError|node:)/.test(line)) lines.push(`[relengd-${i}] ${line.slice(0, 400)}`);
      }
    } catch {
      // no log
    }
  }
  return lines;
}

interface RunFacts {
  drained: boolean;
  drainSeconds: number;
  lastBacklog: string;
  relengdExit: number | null;
  kinds: Record<string, number>;
  resentOnPurpose: number;
  publisher: ConfirmPublisher['stats'];
  chaosLog: string[];
  deadLettered: Array<{ id: string; reason: string | null }>;
  incarnations: number;
  seenOnBus: number;
}

/** Prints the table and the details of whatever failed; returns the failures (empty: PASS). */
function report(r: Inspection, f: RunFacts): string[] {
  const m = r.messages;
  const jobs = (kind: string) => r.jobs.byKind[kind] ?? { run: 0, succeeded: 0, failed: 0, other: 0, reruns: 0, attemptsOverOne: 0 };
  const rows: Array<[string, string | number, string?]> = [
    ['messages published (confirmed)', m.published, `${f.publisher.sends} sends: ${f.publisher.lost} re-sent after a lost confirm, ${f.publisher.nacked} nacked, ${f.publisher.returned} returned, ${f.resentOnPurpose} re-sent on purpose; ${Object.entries(f.kinds).map(([k, n]) => `${k} ${n}`).join(', ')}`],
    ['messages stored', m.stored, m.unexpected ? `${m.unexpected} stored under ids never published` : undefined],
    ['stored twice', m.storedTwice, 'the same message (chaos_seq) on more than one inbound row'],
    ['missing', m.missing.length, 'published and confirmed, not in the store'],
    ['rejected', m.rejected, m.rejectedOfOurs.length ? `${m.rejectedOfOurs.length} of them valid messages of this run` : undefined],
    ['dead-lettered', f.deadLettered.length],
    ['failed dispatches', m.failed, 'dispatch_state failed'],
    ['pending at the end', m.pending],
    ['jobs run: compose / artifact / promote', `${jobs('compose').run} / ${jobs('artifact').run} / ${jobs('promote').run}`, `succeeded ${jobs('compose').succeeded} / ${jobs('artifact').succeeded} / ${jobs('promote').succeeded}; failed ${jobs('compose').failed} / ${jobs('artifact').failed} / ${jobs('promote').failed}`],
    ['jobs re-run after a kill', `${jobs('compose').reruns} / ${jobs('artifact').reruns} / ${jobs('promote').reruns}`, 'same job id, attempts > 1 (not a double effect by itself)'],
    ['compose requests / jobs that committed / no change', `${r.composes.requested} / ${r.composes.jobsWithCommit} / ${r.composes.noChange}`, 'requests while a compose runs merge into one follow-up'],
    ['composes announced (ostree.compose.finished with a commit)', r.composes.announced],
    ...r.refs.map((ref): [string, string, string] => [`commits on ${ref.ref}`, `${ref.commits}`, `${ref.kind === 'updates' ? 'announced' : 'promotions'} ${ref.expected}; head ${ref.head?.slice(0, 12) ?? 'none'}`]),
    ['ref moves (commits on all refs)', r.refs.reduce((s, x) => s + x.commits, 0), `announced ${r.refs.reduce((s, x) => s + x.expected, 0)}`],
    ['promotions: decisions / release.promoted / refused', `${r.promotions.decisions} / ${r.promotions.promotedEvents} / ${r.promotions.refused}`],
    ['commit objects: total / on refs / orphans', `${r.commitObjects.total} / ${r.commitObjects.onRefs} / ${r.commitObjects.orphans}`, 'orphans: commits no ref reaches (a crashed attempt\'s, say)'],
    ['relengd events sent / seen on the bus / missing', `${r.outbound.sent} / ${f.seenOnBus} / ${r.outbound.missingOnBus.length}`, `outbox still pending ${r.outbound.pending}; the bus may see one twice`],
    ['double effects', r.doubleEffects.length],
    ['mismatches (store vs repo)', r.mismatches.length],
    ['relengd runs', f.incarnations, `drained ${f.drained ? `in ${f.drainSeconds.toFixed(1)} s` : 'NO'}; last exit ${f.relengdExit}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.max(...rows.map(([, v]) => String(v).length));
  console.log(`\nrelengd chaos run: seed ${SEED}, ${MESSAGES} messages, ${KILLS} kills, ${RESTARTS} broker restarts`);
  for (const line of f.chaosLog) console.log(`  ${line}`);
  console.log(`${'figure'.padEnd(width)}  ${'value'.padStart(valueWidth)}  note`);
  console.log(`${'-'.repeat(width)}  ${'-'.repeat(valueWidth)}  ----`);
  for (const [k, v, note] of rows) console.log(`${k.padEnd(width)}  ${String(v).padStart(valueWidth)}  ${note ?? ''}`.trimEnd());

  const failures: string[] = [];
  const detail = (title: string, items: readonly string[]): void => {
    if (items.length === 0) return;
    console.log(`\n${title} (${items.length}):`);
    for (const item of items.slice(0, 20)) console.log(`  ${item}`);
    if (items.length > 20) console.log(`  ... and ${items.length - 20} more`);
  };
  if (!f.drained) failures.push(`did not drain (${f.lastBacklog})`);
  if (m.missing.length) failures.push(`${m.missing.length} messages lost`);
  if (m.storedTwice) failures.push(`${m.storedTwice} messages stored twice`);
  if (m.failed) failures.push(`${m.failed} failed dispatches`);
  if (r.doubleEffects.length) failures.push(`${r.doubleEffects.length} double effects`);
  if (r.mismatches.length) failures.push(`${r.mismatches.length} store/repo mismatches`);
  if (r.outbound.missingOnBus.length) failures.push(`${r.outbound.missingOnBus.length} events marked sent but never on the bus`);
  detail('missing messages', m.missing);
  detail('valid messages rejected', m.rejectedOfOurs);
  detail('dead-lettered messages of this run', f.deadLettered.map((d) => `${d.id}: ${d.reason ?? '(no x-relengd-error: poison or delivery limit)'}`));
  detail('failed dispatches', m.failedDetail);
  detail('double effects', r.doubleEffects);
  detail('mismatches', r.mismatches);
  detail('events marked sent but not seen on the bus', r.outbound.missingOnBus);
  detail('jobs re-run after a kill', r.jobs.rerunDetail);
  return failures;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    log(`the run could not be carried out: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanup?.().catch(() => undefined);
    process.exit(2);
  },
);
