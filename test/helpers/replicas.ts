/**
 * Several relengd replicas (real `relengd start` children, test/chaos/relengd-process.ts) sharing
 * one PostgreSQL database, one AMQP queue on the shared broker (competing consumers, names made
 * unique per test) and one OSTree repository, running the demo's two-week story.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { DEMO_GROUP, demoSteps, type DemoStep } from '../../src/cli/demo/scenario.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { RelengdProcess } from '../chaos/relengd-process.ts';
import { amqpUrl, deleteTopology, plainConnection, testNames, type TestNames } from '../integration/amqp/broker.ts';
import { fedoraWire } from './fedora-wire.ts';
import { preparePipeline } from './pipeline.ts';
import { createThrowawayDatabase, type ThrowawayDatabase } from './postgres.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `probe` until it returns a value other than undefined; fails after `timeoutMs` saying what it waited for. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000, everyMs = 100): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface ClusterOptions {
  replicas: number;
  /** Seconds the stand-in compose waits before committing (time to catch a replica mid-compose). */
  composeDelaySeconds?: number;
  /** Puts an `ostree` shim first on the replicas' PATH that holds (sleeps) the first `ostree summary` after `armSummaryHold`. */
  summaryHold?: boolean;
}

export interface JobRow {
  id: string;
  kind: string;
  state: string;
  claimed_by: string | null;
  attempts: number;
  spec: string;
}

export class ReplicaCluster {
  readonly replicas: RelengdProcess[] = [];
  readonly repo;
  readonly #dir: string;
  readonly #names: TestNames;
  readonly #database: ThrowawayDatabase;
  readonly #db: Client;
  readonly #steps: DemoStep[];

  private constructor(dir: string, names: TestNames, database: ThrowawayDatabase, db: Client) {
    this.#dir = dir;
    this.#names = names;
    this.#database = database;
    this.#db = db;
    this.#steps = demoSteps(dir);
    this.repo = openRepo(join(dir, 'repo'));
  }

  /** Prepares the demo under `dir`, a throwaway database and queue names, and starts the replicas. */
  static async start(dir: string, options: ClusterOptions): Promise<ReplicaCluster> {
    const names = testNames('replicas');
    const database = await createThrowawayDatabase();
    const db = new Client({ connectionString: database.url });
    db.on('error', () => undefined);
    await db.connect();
    const cluster = new ReplicaCluster(dir, names, database, db);
    try {
      await cluster.#startReplicas(options);
    } catch (error) {
      await cluster.dispose();
      throw error;
    }
    return cluster;
  }

  async #startReplicas(options: ClusterOptions): Promise<void> {
    const delay = options.composeDelaySeconds ?? 0;
    const edit = (yaml: string): string => {
      const edits: Array<[string | RegExp, string]> = [
        [/^topicPrefix: .*$/m, `topicPrefix: ${this.#names.prefix}`],
        ['bus: { transport: embedded }', `bus:\n  transport: amqp\n  amqp: { url: "${amqpUrl}", queue: ${this.#names.queue}, deadLetter: ${this.#names.deadLetter} }`],
        [/^store: \{ path: .*\}$/m, `store: { url: "${this.#database.url}", leaseSeconds: 3 }`],
        // Over AMQP a message's publisher is the connection's user: the test publishes as guest.
        ['greenwave.decision.update: [greenwave]', 'greenwave.decision.update: [guest]'],
        ...(delay > 0 ? [[/"--add-metadata-string=version=\{version\}",/g, `"--add-metadata-string=version={version}","--delay-seconds=${delay}",`] as [RegExp, string]] : []),
      ];
      for (const [from, to] of edits) {
        const next = yaml.replace(from, to);
        if (next === yaml) throw new Error(`the demo config changed: cannot find ${String(from)} in it (update test/helpers/replicas.ts)`);
        yaml = next;
      }
      return yaml;
    };
    const { yaml } = await preparePipeline(this.#dir, edit);
    const scratch = join(this.#dir, 'tmp');
    mkdirSync(scratch, { recursive: true });
    const savedPath = process.env.PATH;
    if (options.summaryHold) {
      const bin = join(this.#dir, 'bin');
      mkdirSync(bin, { recursive: true });
      // `mv` is atomic: of several replicas' summaries, exactly one takes the hold; later ones pass through.
      writeFileSync(
        join(bin, 'ostree'),
        `#!/bin/sh\nif [ "$1" = summary ] && mv "${this.#dir}/hold-armed" "${this.#dir}/hold-taken-$$" 2>/dev/null; then exec sleep 300; fi\nexec /usr/bin/ostree "$@"\n`,
      );
      chmodSync(join(bin, 'ostree'), 0o755);
      process.env.PATH = `${bin}:${savedPath}`;
    }
    try {
      for (let i = 0; i < options.replicas; i++) {
        const port = await freePort();
        // Same config for every replica but its HTTP port (RelengdProcess lets only the config decide).
        const configFile = join(this.#dir, `relengd-${i}.yaml`);
        writeFileSync(configFile, yaml.replace(/^http: \{ host: 127\.0\.0\.1, port: \d+ \}$/m, `http: { host: 127.0.0.1, port: ${port} }`));
        const logDir = join(this.#dir, `replica-${i}`);
        mkdirSync(logDir, { recursive: true });
        this.replicas.push(new RelengdProcess({ configFile, logDir, port, amqpUrl, tmpDir: scratch }));
      }
    } finally {
      process.env.PATH = savedPath;
    }
    await Promise.all(this.replicas.map((r) => r.start(30_000)));
  }

  /** Replica `i`'s config file (all the same but for the HTTP port). */
  configFile(i: number): string {
    return join(this.#dir, `relengd-${i}.yaml`);
  }

  armSummaryHold(): void {
    writeFileSync(join(this.#dir, 'hold-armed'), '');
  }

  /** Whether an `ostree summary` took the hold (and sleeps in it). */
  summaryHeld(): boolean {
    return readdirSync(this.#dir).some((name) => name.startsWith('hold-taken-'));
  }

  /** The replicas' log lines at warn level or above (the config's level), for the test's output. */
  logWarnings(): string[] {
    return this.replicas.flatMap((r, i) => {
      const lines: string[] = [];
      for (let n = 1; n <= r.incarnation; n++) {
        const file = r.logFile(n);
        if (existsSync(file)) lines.push(...readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => `replica-${i}: ${l}`));
      }
      return lines;
    });
  }

  /** Publishes one of the demo's messages (0 Bodhi, 1 Koji, 2 Greenwave) as Fedora Messaging does, under the test's topic prefix. */
  async publish(index: number): Promise<void> {
    const step = this.#steps[index]!;
    if (step.prepare) writeFileSync(step.prepare.file, JSON.stringify(step.prepare.content));
    const m = step.message;
    const { connection, channel } = await plainConnection();
    try {
      const wire = fedoraWire({ topic: m.topic.replace('org.fedoraproject.prod', this.#names.prefix), body: m.data, id: m.id, headers: m.headers, userId: 'guest' });
      channel.publish('amq.topic', wire.routingKey, wire.content, wire.options);
      await channel.waitForConfirms();
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.#db.query(sql, params)).rows as T[];
  }

  /** Event bodies of `topic` (without the prefix), in store order. */
  async events(topic: string): Promise<Array<Record<string, unknown>>> {
    const rows = await this.query<{ data: string }>(`SELECT data FROM events WHERE type = $1 OR topic = $1 OR topic LIKE '%.' || $1 ORDER BY seq`, [topic]);
    return rows.map((r) => JSON.parse(r.data) as Record<string, unknown>);
  }

  async jobs(kind?: string): Promise<JobRow[]> {
    return kind === undefined ? this.query<JobRow>('SELECT id, kind, state, claimed_by, attempts, spec FROM jobs ORDER BY seq') : this.query<JobRow>('SELECT id, kind, state, claimed_by, attempts, spec FROM jobs WHERE kind = $1 ORDER BY seq', [kind]);
  }

  /** Nothing pending anywhere: events dispatched, no job queued or running, the outbox sent. */
  async quiet(): Promise<boolean> {
    const [row] = await this.query<{ pending: string; active: string; unsent: string }>(
      `SELECT (SELECT count(*) FROM events WHERE dispatch_state = 'pending') AS pending,
              (SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')) AS active,
              (SELECT count(*) FROM outbox WHERE sent_at IS NULL) AS unsent`,
    );
    return row!.pending === '0' && row!.active === '0' && row!.unsent === '0';
  }

  /** Waits until `ready` holds and the cluster is quiet. */
  async settle(what: string, ready: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
    await until(what, async () => ((await ready()) && (await this.quiet()) ? true : undefined), timeoutMs);
  }

  /** The replica process whose registered replica id is `replicaId` (matched by pid). */
  async replicaById(replicaId: string): Promise<RelengdProcess> {
    const [row] = await this.query<{ pid: number }>('SELECT pid FROM replicas WHERE id = $1', [replicaId]);
    const replica = this.replicas.find((r) => r.pid !== undefined && r.pid === row?.pid);
    if (!replica) throw new Error(`no replica process for ${replicaId} (pid ${row?.pid})`);
    return replica;
  }

  get group(): string {
    return DEMO_GROUP;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.dispose().catch(() => undefined)));
    await this.#db.end().catch(() => undefined);
    await this.#database.drop().catch(() => undefined);
    await deleteTopology(this.#names).catch(() => undefined);
  }
}
