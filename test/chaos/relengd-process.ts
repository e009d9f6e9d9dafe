/**
 * relengd as a real child process (`node src/cli/main.ts --config F start`), spawned detached so it
 * leads a process group of its own, and killed the way a crash kills it: SIGKILL to it and to every
 * process it started. Job commands run in process groups of their own (src/jobs/process.ts spawns
 * them detached, so a timeout can signal the whole command), so killing relengd's group alone would
 * leave them running: the kill freezes relengd's group (no new children), walks /proc for its
 * descendants and their groups, freezes those, and SIGKILLs them all. Only descendants of the child
 * this script spawned are touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliPath, projectRoot } from '../helpers/process.ts';

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces or parentheses: the fields start after the last ')'.
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(ppid), pgid: Number(pgid), state: state! };
  } catch {
    return null;
  }
}

/** Every live descendant of `root` (not `root` itself). */
export function descendants(root: number): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (!info || info.state === 'Z') continue;
    children.set(info.ppid, [...(children.get(info.ppid) ?? []), info]);
  }
  const found: ProcInfo[] = [];
  const todo = [root];
  while (todo.length > 0) {
    for (const child of children.get(todo.pop()!) ?? []) {
      found.push(child);
      todo.push(child.pid);
    }
  }
  return found;
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
}

export class RelengdProcess {
  incarnation = 0;
  #child: ChildProcess | null = null;
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  /** Between a kill of ours and the next start: not ready, and not an unexpected exit. */
  #killing = false;
  /** After `dispose`: no more starts (a chaos track still running must not bring relengd back). */
  #disposed = false;
  readonly #configFile: string;
  readonly #logDir: string;
  readonly #url: string;
  readonly #env: NodeJS.ProcessEnv;
  /** Log files are `<name>-<incarnation>.log`. */
  readonly name: string;

  /**
   * @param options.name the log files' prefix (a replica's name); default `relengd`
   * @param options.storeUrl the PostgreSQL store (RELENGD_STORE_URL), and `port` goes to RELENGD_HTTP_PORT: several replicas share one config file
   */
  constructor(options: { configFile: string; logDir: string; port: number; amqpUrl: string; tmpDir: string; name?: string; storeUrl?: string }) {
    this.name = options.name ?? 'relengd';
    this.#configFile = options.configFile;
    this.#logDir = options.logDir;
    this.#url = `http://127.0.0.1:${options.port}`;
    // Only the config decides: the caller's environment must not point relengd at another broker or store.
    // TMPDIR: a stand-in killed mid-compose leaves its scratch root filesystem in the run's directory, removed with it.
    const env: NodeJS.ProcessEnv = { ...process.env, AMQP_URL: options.amqpUrl, TMPDIR: options.tmpDir };
    for (const key of ['RELENGD_CONFIG', 'RELENGD_STORE', 'RELENGD_STORE_URL', 'RELENGD_HTTP_PORT', 'RELENGD_TRANSPORT', 'RELENGD_LOG_LEVEL']) delete env[key];
    if (options.storeUrl !== undefined) {
      env.RELENGD_STORE_URL = options.storeUrl;
      env.RELENGD_HTTP_PORT = String(options.port);
    }
    this.#env = env;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Whether the current incarnation is alive (started and not exited). */
  get running(): boolean {
    const child = this.#child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  logFile(incarnation = this.incarnation): string {
    return join(this.#logDir, `${this.name}-${incarnation}.log`);
  }

  /** Starts relengd and waits until it answers /readyz (store open, consuming). */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.#disposed) throw new Error('relengd: the run is over (disposed)');
    this.incarnation++;
    const out = openSync(this.logFile(), 'a');
    try {
      const child = spawn(process.execPath, [cliPath, '--config', this.#configFile, 'start'], { cwd: projectRoot, env: this.#env, stdio: ['ignore', out, out], detached: true });
      this.#child = child;
      this.#killing = false;
      this.#exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
    } finally {
      closeSync(out);
    }
    await this.waitReady(timeoutMs);
  }

  /**
   * Polls /readyz until 200 (after a start, or after a broker restart: consuming again). A relengd
   * that exits on its own meanwhile is an error; one this script killed is waited for (restarted).
   */
  async waitReady(timeoutMs = 120_000): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const child = this.#child;
      if (child && (child.exitCode !== null || child.signalCode !== null) && !this.#killing) throw new Error(`relengd exited (${child.exitCode ?? child.signalCode}) before it was ready; see ${this.logFile()}`);
      if (this.#child && !this.#killing) {
        try {
          const reply = await fetch(`${this.#url}/readyz`, { signal: AbortSignal.timeout(2000) });
          await reply.body?.cancel();
          if (reply.status === 200) return Date.now() - started;
        } catch {
          // not listening yet
        }
      }
      await sleep(200);
    }
    throw new Error(`relengd not ready after ${timeoutMs / 1000} s; see ${this.logFile()}`);
  }

  /** SIGKILL relengd and everything it started; resolves when relengd is reaped. Returns how many processes died with it. */
  async killTree(): Promise<number> {
    const child = this.#child;
    if (!child?.pid || !this.#exited) return 0;
    const root = child.pid;
    this.#killing = true;
    const ownGroup = readProc(process.pid)?.pgid;
    // Freeze first: a stopped process starts nothing new while its children are collected.
    signal(-root, 'SIGSTOP');
    const victims = new Map<number, ProcInfo>();
    for (let round = 0; round < 3; round++) {
      for (const p of descendants(root)) {
        if (victims.has(p.pid)) continue;
        victims.set(p.pid, p);
        if (p.pgid !== ownGroup) signal(-p.pgid, 'SIGSTOP');
        signal(p.pid, 'SIGSTOP');
      }
    }
    signal(-root, 'SIGKILL');
    for (const p of victims.values()) {
      if (p.pgid !== ownGroup && p.pgid !== root) signal(-p.pgid, 'SIGKILL');
      signal(p.pid, 'SIGKILL');
    }
    await this.#exited;
    // Reparented descendants die on their own schedule: wait until none is left.
    for (let i = 0; i < 100 && [...victims.keys()].some((pid) => { const info = readProc(pid); return info !== null && info.state !== 'Z'; }); i++) await sleep(50);
    this.#child = null;
    return victims.size;
  }

  /** Kills relengd's tree for good: later `start` calls fail. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await this.killTree();
  }

  /** SIGTERM (relengd's graceful stop), then the tree kill if it does not end in time. */
  async stop(graceMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
    const child = this.#child;
    if (!child?.pid || !this.#exited) return null;
    signal(child.pid, 'SIGTERM');
    const ended = await Promise.race([this.#exited, sleep(graceMs).then(() => null)]);
    if (ended === null) await this.killTree();
    else this.#child = null;
    return ended;
  }
}
