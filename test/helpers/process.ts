import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(projectRoot, 'src', 'cli', 'main.ts');

export interface DaemonProcess {
  child: ChildProcess;
  url: string;
  /** Log lines seen so far (JSON, parsed). */
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/**
 * Starts `relengd start` as a real child process and waits until it serves HTTP. `onLine` sees each
 * log line as it comes, before then too (a test that signals the daemon at a given moment).
 */
export async function spawnDaemon(configFile: string, env: NodeJS.ProcessEnv = {}, onLine?: (record: Record<string, unknown>, child: ChildProcess) => void): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [cliPath, '--config', configFile, 'start'], {
    cwd: projectRoot,
    // info level: the `listening` line carries the URL (port 0 picks a free port).
    env: { ...process.env, RELENGD_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        lines.push(record);
        onLine?.(record, child);
        if (record.msg === 'listening' && typeof record.url === 'string') resolveUrl(record.url);
      } catch {
        // not a log record
      }
    });
    void exited.then((code) => reject(new Error(`relengd exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url, lines, exited };
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}
