/**
 * Hand-built job contexts for running one executor directly (no runner, no store), and small
 * helpers to look at a real OSTree repository from the outside (the `ostree` CLI, the files).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobContext } from '../../src/jobs/executor.ts';
import { silentLogger } from '../../src/log.ts';
import type { JobRow } from '../../src/store/jobs.ts';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The node running the tests: stand-ins run as `[node, <abs path>.ts, ...]`. */
export const node = process.execPath;
/** Stand-in for `rpm-ostree compose tree` (real commits, bound to the treefile's ref). */
export const STANDIN_COMPOSE = join(projectRoot, 'src', 'cli', 'demo', 'standin-compose.ts');
/** Stand-in for lorax / `koji image-build` (a real file derived from the commit). */
export const STANDIN_BUILD = join(projectRoot, 'src', 'cli', 'demo', 'standin-build.ts');

export interface ContextInit {
  kind: string;
  spec: unknown;
  /** The job's directory: the same one on every attempt of the job. */
  workdir: string;
  id?: string;
  /** 1 unless told; a recovering attempt is at least the second. */
  attempts?: number;
  recovering?: boolean;
  now?: () => Date;
  signal?: AbortSignal;
}

/** A running job row as the runner hands it to the executor. */
export function jobRow(init: Pick<ContextInit, 'kind' | 'spec' | 'id' | 'attempts'>, logPath: string): JobRow {
  const id = init.id ?? `${init.kind}-job-1`;
  const at = new Date().toISOString();
  return {
    id,
    kind: init.kind,
    queueKey: id,
    spec: init.spec,
    causeEventId: `cause-of-${id}`,
    correlationId: `chain-of-${id}`,
    listener: 'test',
    state: 'running',
    attempts: init.attempts ?? 1,
    createdAt: at,
    startedAt: at,
    finishedAt: null,
    logPath,
    result: null,
    error: null,
    emitted: [],
    retries: 0,
  };
}

/** The context the runner would build for this job; log at `<workdir>/job.log`. */
export function executorContext(init: ContextInit): JobContext {
  const logPath = join(init.workdir, 'job.log');
  const recovering = init.recovering ?? false;
  return {
    job: jobRow({ ...init, attempts: init.attempts ?? (recovering ? 2 : 1) }, logPath),
    workdir: init.workdir,
    logPath,
    signal: init.signal ?? new AbortController().signal,
    timeoutMs: 60_000,
    now: init.now ?? (() => new Date()),
    logger: silentLogger(),
    recovering,
  };
}

/** A fresh job directory under `parent`. */
export function newWorkdir(parent: string, name = 'job-'): string {
  return mkdtempSync(join(parent, name));
}

/** Runs the real `ostree` CLI; stdout, trimmed. */
export function ostree(...args: string[]): string {
  return execFileSync('ostree', args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } }).trim();
}

/** Ref -> commit as the repository's summary file advertises them to clients; {} when there is no summary. */
export function summaryRefs(repoPath: string): Record<string, string> {
  if (!existsSync(join(repoPath, 'summary'))) return {};
  const text = ostree('summary', `--repo=${repoPath}`, '--view');
  const refs: Record<string, string> = {};
  for (const m of text.matchAll(/^\* (\S+)\n\s+Latest Commit \([^)]*\):\n\s+([0-9a-f]{64})$/gm)) refs[m[1]!] = m[2]!;
  return refs;
}

/** How many commit objects the repository holds (whether any ref points to them or not). */
export function commitObjectCount(repoPath: string): number {
  const objects = join(repoPath, 'objects');
  let count = 0;
  for (const dir of readdirSync(objects)) count += readdirSync(join(objects, dir)).filter((f) => f.endsWith('.commit')).length;
  return count;
}

/** How many commands the job log says were started (the runCommand header lines). */
export function commandsStarted(logPath: string): number {
  if (!existsSync(logPath)) return 0;
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => /^# relengd: \S+ started \[/.test(line)).length;
}
