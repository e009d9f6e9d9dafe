import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { JobState } from '../../store/jobs.ts';
import { Store } from '../../store/store.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { parsePositiveInt } from '../time.ts';

const states = Object.values(JobState);

export function registerJobs(program: Command): void {
  program
    .command('jobs')
    .description('list jobs (composes, artifact builds, promotions), newest first')
    .option('--state <state>', `only jobs in this state: ${states.join(', ')}`)
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action((opts: { state?: string; limit: string; json?: boolean }, cmd: Command) => {
      if (opts.state && !states.includes(opts.state as JobState)) throw new UsageError(`--state must be one of ${states.join(', ')}`);
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const store = Store.openExisting(config.store.path);
      try {
        const jobs = store.jobs.list({ state: opts.state as JobState | undefined, limit: parsePositiveInt(opts.limit, '--limit') });
        output(opts.json, jobs, () =>
          jobs.map((j) => `${j.createdAt}  ${j.state.padEnd(11)} ${j.kind.padEnd(10)} ${j.queueKey}  ${j.id}${j.error ? `  ${j.error}` : ''}`).join('\n') || 'no jobs',
        );
      } finally {
        store.close();
      }
    });
}
