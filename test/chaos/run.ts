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
 *   CHAOS_KEEP           1: keep the run's directory (store, repo, relengd logs) and print it,
 *                        and the PostgreSQL database
 *   CHAOS_REPLICAS       relengd replicas, or `--replicas N` (default 1; more than 1 needs postgres)
 *   CHAOS_STORE          `sqlite` or `postgres`, or `--store sqlite|postgres` (default sqlite)
 *   CHAOS_LEASE_SECONDS  PostgreSQL: the replicas' store.leaseSeconds (default 3, the least allowed)
 *   CHAOS_POSTGRES_URL   the server's admin URL for the throwaway database (default
 *                        postgres://postgres@127.0.0.1:5432/postgres: trust auth on loopback)
 *
 * `--store postgres --replicas N` (issue 11): a throwaway database `relengd_chaos_<random>` on that
 * server (dropped at the end unless CHAOS_KEEP=1) and N replicas sharing it, the queue (competing
 * consumers) and the repo, each with RELENGD_STORE_URL, an HTTP port of its own and
 * `store.leaseSeconds: 3` (CHAOS_LEASE_SECONDS). Each kill picks one replica; the first waits for a running compose and
 * kills the replica that claimed it, the second does the same for a promotion (if one is caught
 * running), the others pick a replica at random. For every job a killed replica held, the time from
 * the kill to the job's next attempt starting (on another replica, or on the restarted one) is the
 * failover time (min/median/max). A sampler of the running jobs checks that every re-run job was
 * claimed again from a replica that had been killed (never from a live one), and the replicas' logs
 * must not say that a live replica lost its lease on a running job (it ran on two replicas at once).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { DEMO_ARCHES, DEMO_GROUP } from '../../src/cli/demo/scenario.ts';
import { startPrivateNode, type PrivateNode } from '../integration/amqp/private-node.ts';
import { preparePipeline } from '../helpers/pipeline.ts';
import { buildMessage, planMessages, PREFIX, UNKNOWN_TOPIC_BINDING, type Built, type World } from './messages.ts';
import { ConfirmPublisher } from './publisher.ts';
import { randomInt, seededRandom } from './random.ts';
import { RelengdProcess } from './relengd-process.ts';
import pg from 'pg';
import { inspect, openReader, storeBacklog, withReader, type Inspection, type PublishedMessage, type StoreReader, type StoreTarget, type StreamRefs } from './verify.ts';

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
const args = (() => {
  try {
    return parseArgs({ options: { replicas: { type: 'string' }, store: { type: 'string' } }, strict: true }).values;
  } catch (error) {
    console.error(`${(error as Error).message} (usage: npm run chaos -- [--replicas N] [--store sqlite|postgres])`);
    process.exit(2);
  }
})();
if (args.replicas !== undefined) process.env.CHAOS_REPLICAS = args.replicas;
const REPLICAS = intEnv('CHAOS_REPLICAS', 1, 1);
const STORE = args.store ?? (process.env.CHAOS_STORE || 'sqlite');
if (STORE !== 'sqlite' && STORE !== 'postgres') {
  console.error(`--store (CHAOS_STORE) must be sqlite or postgres, got ${STORE}`);
  process.exit(2);
}
if (REPLICAS > 1 && STORE !== 'postgres') {
  console.error(`${REPLICAS} replicas need a shared store: add --store postgres`);
  process.exit(2);
}
const POSTGRES = STORE === 'postgres';
const POSTGRES_ADMIN_URL = process.env.CHAOS_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
/** store.leaseSeconds on PostgreSQL: by default the smallest the config allows, so a dead replica's jobs move soon. */
const LEASE_SECONDS = intEnv('CHAOS_LEASE_SECONDS', 3, 3);
/** How long a targeted kill waits for a compose or promotion to be running before it kills a replica at random. */
const TARGET_WAIT_MS = 60_000;
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
  /** kill, PostgreSQL: which replica (index), or the one running a compose or a promotion once one runs. */
  target?: number | 'compose' | 'promote';
}

/**
 * The kills and restarts, drawn from the plan's seed. On PostgreSQL, replicas and targets are drawn
 * from a random of their own (`replicaRandom`): the moments are those SQLite's run with the same seed has.
 */
function planChaos(random: () => number, replicaRandom: (() => number) | null): ChaosEvent[] {
  const events: ChaosEvent[] = [];
  for (let i = 0; i < KILLS; i++) events.push({ kind: 'kill', at: randomInt(random, 1, MESSAGES), pauseMs: randomInt(random, 0, 2000) });
  for (let i = 0; i < RESTARTS; i++) events.push({ kind: 'broker-restart', at: randomInt(random, 1, MESSAGES), pauseMs: randomInt(random, 1000, 5000) });
  if (replicaRandom) {
    const kills = events.filter((e) => e.kind === 'kill');
    const mashes = Math.floor(MESSAGES / MASH_EVERY);
    kills.forEach((kill, i) => {
      kill.target = randomInt(replicaRandom, 0, REPLICAS);
      // Mid-compose: right after a Bodhi push (handed out at seq + 1); mid-promotion: right after a
      // Greenwave decision that has a finished compose to promote (from the third push on, when there are three).
      if (i === 0 && mashes >= 1) Object.assign(kill, { target: 'compose', at: randomInt(replicaRandom, 0, mashes) * MASH_EVERY + MASH_EVERY });
      if (i === 1 && mashes >= 2) Object.assign(kill, { target: 'promote', at: randomInt(replicaRandom, mashes >= 3 ? 2 : 1, mashes) * MASH_EVERY + Math.floor(MASH_EVERY / 2) });
    });
  }
  return events.sort((a, b) => a.at - b.at);
}

const describeTarget = (t: ChaosEvent['target']): string => (t === undefined ? '' : typeof t === 'number' ? `replica-${t + 1} ` : `the replica running a ${t} `);

/** The replica id relengd gives itself on PostgreSQL when `store.replicaId` is not set (src/store/open.ts). */
const replicaIdOf = (pid: number): string => `${hostname()}-${pid}`;

interface RunningJob {
  id: string;
  kind: string;
  attempts: number;
  claimed_by: string | null;
  started_at: string | null;
  state: string;
}

async function runningJobsOf(reader: StoreReader, kind?: string): Promise<RunningJob[]> {
  return reader.all<RunningJob>(`SELECT id, kind, attempts, claimed_by, started_at, state FROM jobs WHERE state = 'running'${kind ? ' AND kind = ?' : ''} ORDER BY seq`, ...(kind ? [kind] : []));
}

/** One kill of a replica holding jobs: how long until each job's next attempt started, and where. */
interface Failover {
  kill: number;
  victim: string;
  /** The victim's replica name (its restarts share it). */
  victimReplica: string;
  job: string;
  kind: string;
  /** ms from the SIGKILL to the next attempt's start; null when it never started again. */
  ms: number | null;
  claimedBy: string | null;
  outcome: string;
  /** Filled in at the end: the replica (name, run) that claimed the next attempt, and whether it is not the victim restarted. */
  claimedByName?: string;
  elsewhere?: boolean;
}

/**
 * Who ran which attempt of which job, as the running jobs were seen (sampled, plus each kill's
 * snapshot of the victim's jobs): a job claimed again from a replica that was not killed ran on two
 * replicas at once.
 */
class ClaimSampler {
  readonly claims = new Map<string, Map<number, string>>();
  readonly kinds = new Map<string, string>();
  samples = 0;
  #stopped = false;
  #loop: Promise<void> | null = null;

  record(jobs: readonly RunningJob[]): void {
    for (const j of jobs) {
      if (j.claimed_by === null) continue;
      const attempts = this.claims.get(j.id) ?? new Map<number, string>();
      attempts.set(j.attempts, j.claimed_by);
      this.claims.set(j.id, attempts);
      this.kinds.set(j.id, j.kind);
    }
  }

  start(reader: StoreReader, everyMs: number): void {
    this.#loop = (async () => {
      while (!this.#stopped) {
        try {
          this.record(await runningJobsOf(reader));
          this.samples++;
        } catch {
          // the server is busy or restarting: the next sample
        }
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
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

/**
 * The demo's config on the private node: amqp transport, a free HTTP port, Greenwave decisions from
 * `guest`, a slower stand-in compose; on PostgreSQL, short leases (the URL and ports come from the environment).
 */
function chaosConfig(yaml: string, amqpUrl: string, port: number): string {
  const edits: Array<[string | RegExp, string]> = [
    ...(POSTGRES ? [[/store: \{ path: ([^}]*) \}/, `store: { path: $1, leaseSeconds: ${LEASE_SECONDS} }`] as [RegExp, string]] : []),
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

/** A database of its own for the run on the PostgreSQL server; `drop` closes whatever is still connected to it. */
async function createRunDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const name = `relengd_chaos_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.href, drop: () => admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`) };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

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
  const replicas: RelengdProcess[] = [];
  let publisher: ConfirmPublisher | null = null;
  let admin: ChannelModel | null = null;
  let database: Awaited<ReturnType<typeof createRunDatabase>> | null = null;
  let databaseCreating: Promise<Awaited<ReturnType<typeof createRunDatabase>>> | null = null;
  let watchReader: StoreReader | null = null;
  const sampler = new ClaimSampler();
  // Once, whoever asks first (the end of the run, an error, a signal); everyone waits for the same end.
  let cleaning: Promise<void> | null = null;
  cleanup = () => (cleaning ??= (async () => {
    await Promise.all(replicas.map((r) => r.dispose().catch((e: unknown) => log(`killing ${r.name}: ${(e as Error).message}`))));
    await sampler.stop();
    await watchReader?.close().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    // A signal during the node's start: wait for it, then stop it.
    const started = node ?? (await nodeStarting?.catch(() => null)) ?? null;
    await started?.stop().catch((e: unknown) => log(`stopping the private node: ${(e as Error).message}`));
    const db = database ?? (await databaseCreating?.catch(() => null)) ?? null;
    if (db && KEEP) log(`kept database ${db.url}`);
    else await db?.drop().catch((e: unknown) => log(`dropping database ${db.name}: ${(e as Error).message}`));
    if (KEEP) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  })());

  try {
    log(`seed ${SEED} (CHAOS_SEED=${SEED} repeats this plan): ${MESSAGES} messages at ${RATE || 'unlimited'} msg/s, ${KILLS} kills, ${RESTARTS} broker restarts; ${POSTGRES ? `PostgreSQL store, ${REPLICAS} replica${REPLICAS > 1 ? 's' : ''}` : 'SQLite store'}; directory ${dir}`);
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
    if (POSTGRES) {
      databaseCreating = createRunDatabase();
      database = await databaseCreating;
      log(`database ${database.name} on ${POSTGRES_ADMIN_URL.replace(/\/\/[^@]*@/, '//').replace(/\/[^/]*$/, '')}`);
    }
    const storeTarget: StoreTarget = database ? { backend: 'postgres', url: database.url } : { backend: 'sqlite', path: join(dir, 'relengd.db') };
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
    if (!POSTGRES) replicas.push(new RelengdProcess({ configFile, logDir: dir, port, amqpUrl: node.url, tmpDir: scratch }));
    else for (let i = 0; i < REPLICAS; i++) replicas.push(new RelengdProcess({ configFile, logDir: dir, port: i === 0 ? port : await freePort(), amqpUrl: node.url, tmpDir: scratch, name: `replica-${i + 1}`, storeUrl: database!.url }));
    // Replica ids of every incarnation (pid -> id), and those killed: when (their jobs may be claimed again after that).
    const replicaIds = new Map<string, string>();
    const killedAt = new Map<string, number>();
    const startReplica = async (r: RelengdProcess, timeoutMs?: number): Promise<void> => {
      await r.start(timeoutMs);
      replicaIds.set(replicaIdOf(r.pid!), `${r.name} (run ${r.incarnation}, pid ${r.pid})`);
    };
    // One after the other: the first creates the schema.
    for (const r of replicas) {
      await startReplica(r);
      log(POSTGRES ? `${r.name} started (pid ${r.pid}, replica id ${replicaIdOf(r.pid!)})` : `relengd started (pid ${r.pid}, HTTP on 127.0.0.1:${port})`);
    }
    if (POSTGRES) {
      watchReader = await openReader(storeTarget);
      sampler.start(watchReader, 200);
    }

    const planRandom = seededRandom(SEED);
    const planned = planMessages(SEED, MESSAGES, MASH_EVERY, planRandom);
    const chaos = planChaos(planRandom, POSTGRES ? seededRandom(SEED ^ 0x4e91ca) : null);
    log(`plan: ${chaos.map((e) => `${e.kind}${e.kind === 'kill' && e.target !== undefined ? ` of ${describeTarget(e.target).trim()}` : ''} at message ${e.at} (${e.kind === 'kill' ? 'restart after' : 'down for'} ${e.pauseMs} ms)`).join('; ') || 'no chaos'}`);
    const contentRandom = seededRandom(SEED ^ 0x5eed);

    // Greenwave looks at what finished: the newest version every arch finished with an accepted status.
    const decided = new Set<string>();
    // Read (asynchronously: PostgreSQL) just before a decision is built; `decisionSubject` takes it.
    let readyVersions: string[] = [];
    const readReadyVersions = async (): Promise<void> => {
      const rows = await withReader(storeTarget, (db) => db.all<{ data: string }>(`SELECT data FROM events WHERE topic = 'relengd.compose.finished' ORDER BY seq`));
      const arches = new Map<string, Set<string>>();
      for (const { data } of rows) {
        const body = JSON.parse(data) as { version: string; stream: string; status: string };
        if (body.status === 'DOOMED') continue;
        arches.set(body.version, (arches.get(body.version) ?? new Set()).add(body.stream));
      }
      readyVersions = [...arches].filter(([, s]) => s.size === DEMO_ARCHES.length).map(([v]) => v);
    };
    const world: World = {
      group: DEMO_GROUP,
      mash: (n) => writeUpdates([...UPDATES_REPO_PACKAGES, `chaos-update-${n}-1.fc26`]),
      decisionSubject: () => {
        const version = readyVersions.at(-1);
        if (version === undefined || decided.has(version)) return null;
        decided.add(version);
        return `${DEMO_GROUP}-${version}`;
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
        if (p.kind === 'decision') await readReadyVersions();
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
    const failovers: Failover[] = [];
    const failoverWatches: Array<Promise<void>> = [];
    let watching = true;
    let killNumber = 0;
    const busy = new Set<RelengdProcess>();
    /** On PostgreSQL: the replica to kill, waiting (at most TARGET_WAIT_MS) for one to run a job of the targeted kind. */
    const pickVictim = async (event: ChaosEvent): Promise<{ replica: RelengdProcess; why: string }> => {
      if (typeof event.target === 'number') return { replica: replicas[event.target]!, why: 'drawn at random' };
      if (event.target === undefined) return { replica: replicas[0]!, why: '' };
      const waitStarted = Date.now();
      while (Date.now() - waitStarted < TARGET_WAIT_MS) {
        const running = await runningJobsOf(watchReader!, event.target).catch(() => []);
        for (const job of running) {
          const replica = replicas.find((r) => r.running && !busy.has(r) && r.pid !== undefined && replicaIdOf(r.pid) === job.claimed_by);
          if (replica) return { replica, why: `running ${job.kind} ${job.id} (attempt ${job.attempts}), caught after ${Date.now() - waitStarted} ms` };
        }
        await sleep(event.target === 'promote' ? 10 : 50);
      }
      return { replica: replicas[randomInt(Math.random, 0, replicas.length)]!, why: `no ${event.target} caught running within ${TARGET_WAIT_MS / 1000} s: one at random` };
    };
    /** Until each job the dead replica held starts its next attempt: the failover time. */
    const watchFailover = async (kill: number, victim: string, victimReplica: string, killTime: number, jobs: readonly RunningJob[]): Promise<void> => {
      const waiting = new Map(jobs.map((j) => [j.id, j]));
      while (waiting.size > 0 && watching) {
        const now = await withReader(storeTarget, (db) => db.all<RunningJob>(`SELECT id, kind, attempts, claimed_by, started_at, state FROM jobs WHERE id IN (${[...waiting.keys()].map(() => '?').join(', ')})`, ...waiting.keys())).catch(() => []);
        const seenAt = Date.now();
        for (const row of now) {
          const before = waiting.get(row.id)!;
          if (row.attempts > before.attempts) {
            // started_at is the new attempt's start (relengd's clock, this machine's) unless more than one attempt went by.
            const started = row.attempts === before.attempts + 1 && row.started_at ? Date.parse(row.started_at) : NaN;
            const ms = Number.isFinite(started) && started >= killTime ? started - killTime : seenAt - killTime;
            failovers.push({ kill, victim, victimReplica, job: row.id, kind: row.kind, ms, claimedBy: row.claimed_by, outcome: row.state });
            waiting.delete(row.id);
          } else if (row.state !== 'running' && row.state !== 'queued') {
            failovers.push({ kill, victim, victimReplica, job: row.id, kind: row.kind, ms: null, claimedBy: null, outcome: `${row.state} without another attempt` });
            waiting.delete(row.id);
          }
        }
        await sleep(100);
      }
      for (const j of waiting.values()) failovers.push({ kill, victim, victimReplica, job: j.id, kind: j.kind, ms: null, claimedBy: null, outcome: 'never started again' });
    };
    const track = async (events: readonly ChaosEvent[]): Promise<void> => {
      for (const event of events) {
        while (handedOut < event.at) await sleep(20);
        if (event.kind === 'kill' && !POSTGRES) {
          const relengd = replicas[0]!;
          const running = await runningJobs(storeTarget);
          const victims = await relengd.killTree();
          const line = `kill at message ${event.at} (${elapsed().trim()}): SIGKILL relengd (run ${relengd.incarnation}) and ${victims} processes it started; jobs running: ${running.join(', ') || 'none'}`;
          chaosLog.push(line);
          log(line);
          await sleep(event.pauseMs);
          await relengd.start(300_000);
          log(`relengd restarted (pid ${relengd.pid})`);
        } else if (event.kind === 'kill') {
          const n = ++killNumber;
          const { replica, why } = await pickVictim(event);
          // The targeted kills have a track of their own: one replica is killed and restarted by one track at a time.
          while (busy.has(replica)) await sleep(50);
          busy.add(replica);
          const victimId = replicaIdOf(replica.pid!);
          const run = replica.incarnation;
          const killTime = Date.now();
          const victims = await replica.killTree();
          killedAt.set(victimId, killTime);
          // Dead now: what it had running stays claimed by it until its lease lapses.
          const orphans = (await runningJobsOf(watchReader!).catch(() => [])).filter((j) => j.claimed_by === victimId);
          sampler.record(orphans);
          if (orphans.length > 0) failoverWatches.push(watchFailover(n, `${replica.name} run ${run}`, replica.name, killTime, orphans));
          const line = `kill ${n} at message ${handedOut} (planned ${event.at}; ${elapsed().trim()}): SIGKILL ${replica.name} (run ${run}, ${victimId}${why ? `; ${why}` : ''}) and ${victims} processes it started; its running jobs: ${orphans.map((j) => `${j.kind} ${j.id} (attempt ${j.attempts})`).join(', ') || 'none'}`;
          chaosLog.push(line);
          log(line);
          await sleep(event.pauseMs);
          await startReplica(replica, 300_000).finally(() => busy.delete(replica));
          log(`${replica.name} restarted (pid ${replica.pid}, replica id ${replicaIdOf(replica.pid!)})`);
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
          const waited = Math.max(...(await Promise.all(replicas.map((r) => r.waitReady(300_000)))));
          const line = `broker restart at message ${event.at} (${elapsed().trim()}): down ${((up - down) / 1000).toFixed(1)} s (stop_app took ${((down - stopping) / 1000).toFixed(1)} s); relengd consuming again ${((waited + 1000) / 1000).toFixed(1)} s after start_app`;
          chaosLog.push(line);
          log(line);
        }
      }
    };
    // Kills at random moments in one track, kills waiting for a compose or a promotion in another (PostgreSQL).
    const targeted = (e: ChaosEvent): boolean => e.target === 'compose' || e.target === 'promote';
    const chaosDone = Promise.all([
      track(chaos.filter((e) => e.kind === 'kill' && !targeted(e))),
      track(chaos.filter((e) => e.kind === 'kill' && targeted(e))),
      track(chaos.filter((e) => e.kind === 'broker-restart')),
    ]);
    await Promise.all([publishing, chaosDone]);

    // Drained: nothing pending in the store, no job to run, the queue empty, three polls in a row.
    log('waiting for relengd to drain');
    const drainStarted = Date.now();
    let quiet = 0;
    let drained = false;
    let last = '';
    while (Date.now() - drainStarted < DRAIN_TIMEOUT_S * 1000) {
      const backlog = await storeBacklog(storeTarget);
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

    // Every failover watch ends: its job started again, or the drain is over (never started again).
    const watchesDone = Promise.all(failoverWatches);
    await Promise.race([watchesDone, sleep(drained ? 30_000 : 0)]);
    watching = false;
    await watchesDone;
    await sampler.stop();
    const exits = await Promise.all(replicas.map((r) => r.stop()));
    replicas.forEach((r, i) => log(`${r.name} stopped: ${exits[i] ? `exit ${exits[i].code ?? exits[i].signal}` : 'was not running'}`));
    const exit = exits[0] ?? null;

    admin = await connect(node.url);
    const reader = await admin.createChannel();
    const seen = await drainQueue(reader, WATCH_QUEUE);
    const deadLettered = await drainQueue(reader, DEAD_LETTER).catch(() => []);
    await admin.close();
    admin = null;

    const result = await inspect({ store: storeTarget, repo, streams, published, seenOnBus: new Set(seen.map((m) => m.id)) });
    const replicaChecks = POSTGRES ? await checkReplicas(storeTarget, sampler, killedAt, replicaIds, replicas, failovers) : null;
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
      incarnations: replicas.reduce((n, r) => n + r.incarnation, 0),
      seenOnBus: seen.length,
      replicaChecks,
    });
    if (failures.length > 0) {
      const errors = replicas.flatMap(relengdErrors);
      if (errors.length > 0) console.log(`relengd logged ${errors.length} errors; the last:\n  ${errors.slice(-5).join('\n  ')}`);
    }
    console.log(`${failures.length === 0 ? 'PASS' : 'FAIL'}: seed ${SEED}, ${MESSAGES} messages,${POSTGRES ? ` PostgreSQL, ${REPLICAS} replicas,` : ''} ${KILLS} kills, ${RESTARTS} broker restarts in ${formatDuration(Date.now() - t0)}${failures.length ? ` — ${failures.join('; ')}` : ''}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

async function runningJobs(store: StoreTarget): Promise<string[]> {
  try {
    return await withReader(store, async (db) =>
      (await db.all<{ kind: string; stream: string | null; name: string | null }>(`SELECT kind, ${db.json('spec', 'stream')} AS stream, ${db.json('spec', 'name')} AS name FROM jobs WHERE state = 'running'`)).map(
        (j) => `${j.kind}${j.name ? ` ${j.name}` : ''}${j.stream ? ` ${j.stream}` : ''}`,
      ),
    );
  } catch {
    return ['(store unreadable)'];
  }
}

interface ReplicaChecks {
  /** Replica ids that claimed jobs (every incarnation is a replica of its own). */
  claimants: number;
  /** Re-runs (attempt n+1 of a job) whose attempt n was seen on a replica that had been killed. */
  rerunsAfterKill: number;
  /** Re-runs whose earlier attempt was not seen running (too short for the sampler). */
  rerunsUnseen: string[];
  /** Jobs claimed again from a replica that was alive: they ran on two replicas at once. */
  claimedFromLive: string[];
  /** Replicas' log lines saying a live replica's lease on a running job lapsed and another took it. */
  leaseLost: string[];
  failovers: Failover[];
  samples: number;
}

/** The replica checks: every job re-run was claimed again from a dead replica; no live replica lost a lease. */
async function checkReplicas(store: StoreTarget, sampler: ClaimSampler, killedAt: ReadonlyMap<string, number>, names: ReadonlyMap<string, string>, replicas: readonly RelengdProcess[], failovers: Failover[]): Promise<ReplicaChecks> {
  const jobs = await withReader(store, (db) => db.all<{ id: string; kind: string; attempts: number; claimed_by: string | null }>(`SELECT id, kind, attempts, claimed_by FROM jobs`));
  const name = (id: string): string => names.get(id) ?? id;
  const claimants = new Set<string>();
  let rerunsAfterKill = 0;
  const rerunsUnseen: string[] = [];
  const claimedFromLive: string[] = [];
  for (const job of jobs) {
    const seen = sampler.claims.get(job.id) ?? new Map<number, string>();
    if (job.claimed_by) seen.set(job.attempts, job.claimed_by);
    for (const by of seen.values()) claimants.add(by);
    for (let attempt = 1; attempt < job.attempts; attempt++) {
      const by = seen.get(attempt);
      if (by === undefined) rerunsUnseen.push(`${job.kind} ${job.id}: attempt ${attempt} of ${job.attempts} not seen running`);
      else if (killedAt.has(by)) rerunsAfterKill++;
      else claimedFromLive.push(`${job.kind} ${job.id}: attempt ${attempt} on ${name(by)}, never killed, then attempt ${attempt + 1} on ${name(seen.get(attempt + 1) ?? '?')}`);
    }
  }
  const leaseLost: string[] = [];
  for (const r of replicas) {
    for (let i = 1; i <= r.incarnation; i++) {
      try {
        for (const line of readFileSync(r.logFile(i), 'utf8').split('\n')) {
          if (/lease on the job lapsed|lost its lease on the job/.test(line)) leaseLost.push(`[${r.name}-${i}] ${line.slice(0, 300)}`);
        }
      } catch {
        // no log
      }
    }
  }
  for (const x of failovers) {
    if (x.claimedBy === null) continue;
    x.claimedByName = name(x.claimedBy);
    x.elsewhere = !x.claimedByName.startsWith(`${x.victimReplica} `);
  }
  return { claimants: claimants.size, rerunsAfterKill, rerunsUnseen, claimedFromLive, leaseLost, failovers, samples: sampler.samples };
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
  replicaChecks: ReplicaChecks | null;
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
  const rc = f.replicaChecks;
  if (rc) {
    const timed = rc.failovers.filter((x) => x.ms !== null).map((x) => x.ms!);
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    rows.push(
      ['replicas / replica ids that claimed jobs', `${REPLICAS} / ${rc.claimants}`, `store.leaseSeconds ${LEASE_SECONDS}; ${rc.samples} samples of the running jobs`],
      ['jobs a killed replica held / started again', `${rc.failovers.length} / ${timed.length}`, rc.failovers.length > timed.length ? `${rc.failovers.length - timed.length} not: ${rc.failovers.filter((x) => x.ms === null).map((x) => `${x.kind} ${x.job} ${x.outcome}`).join(', ')}` : undefined],
      ['failover: kill to next attempt, min / median / max', timed.length ? `${s(Math.min(...timed))} / ${s(median(timed))} / ${s(Math.max(...timed))}` : 'n/a', timed.length ? `${timed.length} jobs, ${rc.failovers.filter((x) => x.elsewhere).length} of them on another replica (the others on the victim restarted)` : 'no kill caught a running job'],
      ['re-runs after a kill / not seen running', `${rc.rerunsAfterKill} / ${rc.rerunsUnseen.length}`, 'attempt n seen on a killed replica, attempt n+1 anywhere'],
      ['jobs claimed again from a live replica', rc.claimedFromLive.length, 'it ran on two replicas at once'],
      ['live replicas that lost a job\'s lease', rc.leaseLost.length, 'their logs: the job went on elsewhere, stopped here'],
    );
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.max(...rows.map(([, v]) => String(v).length));
  console.log(`\nrelengd chaos run: seed ${SEED}, ${MESSAGES} messages,${POSTGRES ? ` PostgreSQL store, ${REPLICAS} replicas,` : ''} ${KILLS} kills, ${RESTARTS} broker restarts`);
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
  if (rc) {
    if (rc.claimedFromLive.length) failures.push(`${rc.claimedFromLive.length} jobs claimed again from a live replica`);
    if (rc.leaseLost.length) failures.push(`${rc.leaseLost.length} times a live replica lost a running job's lease`);
    if (rc.failovers.some((x) => x.ms === null)) failures.push(`${rc.failovers.filter((x) => x.ms === null).length} jobs of a killed replica never started again`);
    detail('failovers (kill: job, time to its next attempt, where)', rc.failovers.map((x) => `kill ${x.kill} of ${x.victim}: ${x.kind} ${x.job} ${x.ms === null ? x.outcome : `${(x.ms / 1000).toFixed(2)} s, on ${x.claimedByName ?? x.claimedBy}, now ${x.outcome}`}`));
    detail('jobs claimed again from a live replica', rc.claimedFromLive);
    detail('live replicas that lost a lease', rc.leaseLost);
    detail('re-runs whose earlier attempt was not seen running', rc.rerunsUnseen);
  }
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
