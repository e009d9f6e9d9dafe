import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { RetentionConfig } from '../config/index.ts';
import { jobDirName } from '../jobs/runner.ts';
import type { Logger } from '../log.ts';
import type { StoreApi } from '../store/api.ts';
import { pruneStore } from '../pipeline/retention.ts';

export interface Pruning {
  /** Stops the timer and waits for a run in progress to stop at its next batch. */
  stop(): Promise<void>;
}

/**
 * Prunes the store now and every `retention.intervalMinutes` (see `pruneStore`). A failed run is
 * logged and the next one tries again: retention never stops the daemon.
 * The same on SQLite and PostgreSQL (src/pipeline/retention.ts); on PostgreSQL every replica prunes,
 * each batch in a transaction of its own, so runs on several replicas at once only find less to do.
 */
export function startPruning(options: { store: StoreApi; retention: RetentionConfig; jobsWorkdir: string; clock: Clock; logger: Logger }): Pruning {
  const { store, retention, jobsWorkdir, clock } = options;
  const log = options.logger.child({ component: 'retention' });
  const abort = new AbortController();
  let running: Promise<void> | undefined;

  const run = (): void => {
    if (running || abort.signal.aborted) return; // a slow run is not overlapped by the next tick
    const started = performance.now();
    running = pruneStore(store, {
      eventsDays: retention.events,
      rejectedDays: retention.rejected,
      jobDirectoriesDays: retention.jobDirectories,
      jobDirectoryOf: (id) => join(jobsWorkdir, jobDirName(id)),
      now: clock.now(),
      signal: abort.signal,
    })
      .then((pruned) => {
        const removed = pruned.events + pruned.rejected + pruned.jobDirectories + pruned.signatures + pruned.signRequests + pruned.imageLists;
        log[removed > 0 ? 'info' : 'debug']({ ...pruned, durationMs: Math.round(performance.now() - started) }, 'pruned');
      })
      .catch((error: unknown) => log.error({ err: error }, 'pruning failed; trying again at the next interval'))
      .finally(() => (running = undefined));
  };

  const timer = setInterval(run, retention.intervalMinutes * 60_000).unref();
  run();
  return {
    stop: async () => {
      clearInterval(timer);
      abort.abort();
      await running;
    },
  };
}
