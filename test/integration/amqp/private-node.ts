/**
 * A throwaway RabbitMQ node for the tests that close connections, stop and start the broker or add
 * users: those things are done to a node of the test's own, never to the machine's shared broker
 * (which other test files use at the same time, and which is not ours to reconfigure).
 *
 * The node runs from the same rabbitmq-server installation, as the `rabbitmq` user (the Debian
 * wrapper drops to it, so the node and `rabbitmqctl` share /var/lib/rabbitmq/.erlang.cookie), with
 * everything of its own under a temporary directory: config file (the AMQP listener on a free
 * port: /etc/rabbitmq/rabbitmq.conf would pin 5672), node name, distribution port, data, logs, pid
 * file. It starts in about 8 s. Needs root or passwordless sudo; without them the tests skip and
 * say why, except under CI=true, where they fail.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';

const exec = promisify(execFile);
const isCi = process.env.CI === 'true';
const asRoot = process.getuid?.() === 0;

/** One directory per node, named after it; a run killed before its afterAll leaves one behind. */
const NODES_DIR = join(tmpdir(), 'relengd-test-rabbitmq-nodes');

export interface PrivateNode {
  /** `NAME@localhost`, for `rabbitmqctl -n`. */
  nodeName: string;
  /** guest/guest on the node's own port (guest may connect from loopback). */
  url: string;
  /** `rabbitmqctl -n nodeName ARGS...`: stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Stops the node (waiting for its OS process to exit) and removes its directory. */
  stop(): Promise<void>;
}

/** Runs a program as root: directly when we are, else through `sudo -n`. Argv only, no shell of ours. */
async function privileged(file: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const [command, argv] = asRoot ? [file, [...args]] : ['sudo', ['-n', file, ...args]];
  const { stdout } = await exec(command, argv, { timeout: timeoutMs });
  return stdout;
}

function ctlFor(nodeName: string) {
  return (...args: string[]): Promise<string> => privileged('rabbitmqctl', ['-n', nodeName, ...args]);
}

/** Two distinct free ports on 127.0.0.1 (both held until both are known, so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

async function removeNodeDir(dir: string): Promise<void> {
  // The node's data belongs to the rabbitmq user.
  if (asRoot) rmSync(dir, { recursive: true, force: true });
  else await privileged('rm', ['-rf', '--', dir]);
}

/** Stops and removes nodes whose test process died before stopping them. */
async function removeOrphans(): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(NODES_DIR);
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(NODES_DIR, name);
    const owner = readPid(join(dir, 'owner'));
    // No owner yet: another file is creating it right now.
    if (owner === null || alive(owner)) continue;
    const pidFile = join(dir, 'data', 'pid');
    const nodePid = readPid(pidFile);
    if (nodePid !== null && alive(nodePid)) await ctlFor(`${name}@localhost`)('stop', '--idempotent', pidFile).catch(() => undefined);
    await removeNodeDir(dir).catch(() => undefined);
  }
}

/** Starts a node; rejects (after cleaning up) when it does not come up. */
export async function startPrivateNode(): Promise<PrivateNode> {
  await removeOrphans();
  const name = `relengd-test-${randomUUID().slice(0, 8)}`;
  const nodeName = `${name}@localhost`;
  const dir = join(NODES_DIR, name);
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  // The node runs as rabbitmq: it must get through to its config file and own its data directory.
  chmodSync(NODES_DIR, 0o755);
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const [port, distPort] = await freePorts(2);
  const configFile = join(dir, 'rabbitmq.conf');
  writeFileSync(configFile, `listeners.tcp.default = 127.0.0.1:${port}\n`, { mode: 0o644 });
  const pidFile = join(data, 'pid');
  const ctl = ctlFor(nodeName);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await ctl('stop', '--idempotent', pidFile).catch((error: unknown) => console.warn(`stopping ${nodeName}: ${(error as Error).message}`));
    await removeNodeDir(dir);
  };

  try {
    await privileged('chown', ['rabbitmq:rabbitmq', data]);
    const env = {
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_CONFIG_FILE: configFile,
      // Files that default to /etc/rabbitmq: point them into our directory, where they do not exist.
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(data, 'enabled_plugins'),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(data, 'mnesia'),
      RABBITMQ_LOG_BASE: join(data, 'log'),
      RABBITMQ_PID_FILE: pidFile,
    };
    // `env` passes the variables through sudo, which would otherwise drop them.
    await privileged('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'rabbitmq-server', '-detached']);
    // Returns once the rabbit application runs (the AMQP listener is up); fails if the node dies.
    await ctl('wait', '--timeout', '90', pidFile);
  } catch (error) {
    const log = join(data, 'log', `${nodeName}.log`);
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '(no log)';
    await stop().catch(() => undefined);
    throw new Error(`${(error as Error).message.split('\n')[0]}\n${tail}`, { cause: error });
  }
  return { nodeName, url: `amqp://guest:guest@127.0.0.1:${port}`, ctl, stop };
}

/**
 * For a test file: a private node, stopped after the file's tests, or why there is none (skip).
 * Call at the top level of the file (the reason goes into the describe title). Under CI=true a
 * node that does not start fails the file.
 */
export async function privateNodeForFile(): Promise<{ node: PrivateNode; missing: null } | { node: null; missing: string }> {
  let node: PrivateNode;
  try {
    node = await startPrivateNode();
  } catch (error) {
    const reason = `no throwaway RabbitMQ node (${(error as Error).message.split('\n')[0]}); these tests need rabbitmq-server and root or passwordless sudo`;
    if (isCi) throw new Error(`CI=true but ${reason}`, { cause: error });
    console.warn(`skipping: ${reason}\n${(error as Error).message}`);
    return { node: null, missing: reason };
  }
  afterAll(() => node.stop(), 60_000);
  return { node, missing: null };
}

/** Has the node close the connection that presented this `connection_name`, as an operator would. */
export async function closeConnectionNamed(node: PrivateNode, connectionName: string, reason: string): Promise<void> {
  // 3.10's close_connection takes the connection's process id.
  const out = await node.ctl('-q', 'list_connections', 'pid', 'client_properties', '--no-table-headers');
  const line = out.split('\n').find((l) => l.includes(`{"connection_name","${connectionName}"}`));
  if (!line) throw new Error(`no connection named ${connectionName} in:\n${out}`);
  await node.ctl('close_connection', line.split('\t')[0]!, reason);
}
