import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { RetentionConfig } from '../config/index.ts';
import { jobDirName } from '../jobs/runner.ts';
import type { Logger } from '../log.ts';
import type { StoreApi } from '../store/api.ts';
import { pruneStore } from '../store/retention.ts';
import { SqliteStore } from '../store/sqlite-store.ts';

export interface Pruning {
  /** Stops the timer and waits for a run in progress to stop at its next batch. */
  stop(): Promise<void>;
}

/**
 * Prunes the store now and every `retention.intervalMinutes` (see `pruneStore`). A failed run is
 * logged and the next one tries again: retention never stops the daemon.
 * Retention runs on the SQLite tables (src/store/retention.ts); on another backend it is skipped, said once.
 */
export function startPruning(options: { store: StoreApi; retention: RetentionConfig; jobsWorkdir: string; clock: Clock; logger: Logger }): Pruning {
  const { retention, jobsWorkdir, clock } = options;
  const log = options.logger.child({ component: 'retention' });
  if (!(options.store instanceof SqliteStore)) {
    log.warn({ backend: options.store.backend }, `retention is not yet available on a ${options.store.backend} store: nothing is pruned`);
    return { stop: async () => {} };
  }
  const sqlite = options.store;
  const store = sqlite.sync;
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
      exclusive: (batch) => sqlite.exclusive(batch),
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
