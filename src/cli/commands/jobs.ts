import type { Command } from 'commander';
import type { Config } from '../../config/index.ts';
import { RelengdError, UsageError } from '../../errors.ts';
import { decideControl } from '../../jobs/control.ts';
import { createLogger } from '../../log.ts';
import { JobState, type JobRow } from '../../store/jobs.ts';
import { openStore } from '../../store/open.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { printJobLog } from '../job-log.ts';
import { isHttpRoute, sendOperatorCommand, withOperatorRoute } from '../operator-command.ts';
import { parsePositiveInt } from '../time.ts';

const states = Object.values(JobState);

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('jobs (composes, artifact builds, promotions): list them (the default), read one\'s log, retry or cancel one');
  jobs
    .command('list', { isDefault: true })
    .description('list jobs, newest first, with their duration (so far, for a running one) and log file')
    .option('--state <state>', `only jobs in this state: ${states.join(', ')}`)
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { state?: string; limit: string; json?: boolean }, cmd: Command) => {
      if (opts.state && !states.includes(opts.state as JobState)) throw new UsageError(`--state must be one of ${states.join(', ')}`);
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const store = await openStore(config, { existing: true });
      try {
        const now = Date.now();
        const listed = (await store.jobs.list({ state: opts.state as JobState | undefined, limit: parsePositiveInt(opts.limit, '--limit') })).map((j) => ({ ...j, durationMs: durationMs(j, now) }));
        output(opts.json, listed, () => listed.map(toLine).join('\n') || 'no jobs');
      } finally {
        await store.close();
      }
    });

  jobs
    .command('logs <id>')
    .alias('log')
    .description("print a job's log (every attempt); reads the store and the log file, no daemon needed")
    .option('-f, --follow', 'keep printing while the job is queued or running; exit when it has ended')
    .action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      // `jobs logs ID | head`: the reader left, which is no error.
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
        process.exit(0);
      });
      const store = await openStore(config, { existing: true });
      try {
        const job = await printJobLog(store.jobs, id, { follow: Boolean(opts.follow), out: process.stdout });
        if (opts.follow) process.stderr.write(`relengd: job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
      } finally {
        await store.close();
      }
    });

  registerControl(jobs, 'retry', 'run a failed or cancelled job again (its executor reads back what earlier attempts left: a compose whose commit exists is not composed again)');
  registerControl(jobs, 'cancel', 'cancel a job: a queued one never starts; a running one gets SIGTERM, then SIGKILL of its process group; recorded cancelled and treated by the pipeline as a failure');
}

interface ControlOptions {
  comment?: string;
  url?: string;
  tokenFile?: string;
  json?: boolean;
}

const CONTROL_TOPIC = { retry: 'relengd.job.retry.requested', cancel: 'relengd.job.cancel.requested' } as const;

/**
 * `jobs retry ID` / `jobs cancel ID`: operator commands under the trust model, applied by the
 * running daemon's job runner. Written to the local store (as `local:<user>`), they are checked
 * against it first, so a mistake is an error at once; over HTTP the daemon's answer is an event
 * (`relengd.job.retried`, `relengd.job.cancelled`, or `relengd.job.control.refused` with the reason).
 */
function registerControl(jobs: Command, action: 'retry' | 'cancel', description: string): void {
  withOperatorRoute(jobs.command(`${action} <id>`).description(`${description}; recorded as ${CONTROL_TOPIC[action]} with who asked: local:<user> when written to the store, or the token's publisher over HTTP`))
    .option('--comment <text>', 'why, for the record')
    .option('--json', 'print the response as JSON')
    .action(async (id: string, opts: ControlOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const route = { url: opts.url, tokenFile: opts.tokenFile };
      if (!isHttpRoute(route)) await checkAgainstStore(config, action, id);
      const body = { jobId: id, ...(opts.comment ? { comment: opts.comment } : {}) };
      const reply = await sendOperatorCommand(config, createLogger({ level: 'warn', fd: 2 }), CONTROL_TOPIC[action], body, route);
      output(opts.json, { ...reply, jobId: id }, () =>
        reply.ok
          ? `${action} of job ${id} requested as ${reply.via} (${String(reply.id)}); the running daemon applies it within seconds: relengd jobs, relengd events --topic 'relengd.job.#'`
          : `refused (${String(reply.reason)}): ${String(reply.error)}`,
      );
      if (!reply.ok) process.exitCode = 1;
    });
}

/** The daemon decides again when it applies the command; this catches an unknown id or a wrong state before anything is written. */
async function checkAgainstStore(config: Config, action: 'retry' | 'cancel', id: string): Promise<void> {
  const store = await openStore(config, { existing: true });
  try {
    const decision = decideControl({ action, jobId: id }, await store.jobs.get(id), true);
    if (decision.action === 'refuse') throw new RelengdError(decision.reason);
  } finally {
    await store.close();
  }
}

/** How long the job ran (its last run), or has been running; null when it never started. */
function durationMs(job: JobRow, now: number): number | null {
  if (!job.startedAt || job.state === 'queued') return null;
  const end = job.state === 'running' ? now : Date.parse(job.finishedAt ?? job.startedAt);
  return Math.max(0, end - Date.parse(job.startedAt));
}

function toLine(j: JobRow & { durationMs: number | null }): string {
  const duration = j.durationMs === null ? '-' : formatDuration(j.durationMs);
  const log = j.logPath ? `  log ${j.logPath}` : '';
  return `${j.createdAt}  ${j.state.padEnd(11)} ${j.kind.padEnd(10)} ${duration.padStart(7)}  ${j.queueKey}  ${j.id}${log}${j.error ? `  ${j.error}` : ''}`;
}

/** `42s`, `3m05s`, `2h07m`. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
