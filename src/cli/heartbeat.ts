import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { FORGET_EVERY_MS, FORGET_SILENT_AFTER_MS, type DaemonRecord } from '../store/daemons.ts';
import type { StoreApi } from '../store/api.ts';

export const HEARTBEAT_INTERVAL_MS = 5_000;
/** Three missed beats: a daemon this quiet is taken to be down (killed, or its machine gone). */
export const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_INTERVAL_MS;

/**
 * Registers the daemon in its store and beats every {@link HEARTBEAT_INTERVAL_MS}, so that the CLI
 * on the same store can tell relengd is up. Stopping removes the registration. As it starts, and
 * hourly, it forgets daemons killed more than a day ago (FORGET_SILENT_AFTER_MS).
 */
export async function startHeartbeat(o: { store: StoreApi; clock: Clock; url: string | null; version: string; logger: Logger }): Promise<{ id: string; stop(): Promise<void> }> {
  const now = () => o.clock.now().toISOString();
  const record: DaemonRecord = { id: randomUUID(), host: hostname(), pid: process.pid, url: o.url, version: o.version, startedAt: now(), heartbeatAt: now() };
  await o.store.daemons.register(record);
  const forget = async (): Promise<void> => {
    const forgotten = await o.store.daemons.forgetSilentSince(new Date(o.clock.now().getTime() - FORGET_SILENT_AFTER_MS).toISOString());
    if (forgotten > 0) o.logger.info({ component: 'heartbeat', forgotten }, 'forgot daemons silent for more than a day');
  };
  await forget();
  let forgottenAt = o.clock.now().getTime();
  /** The beat being written: one at a time, and stop waits for it, so no beat lands after the registration is removed. */
  let beating: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (beating) return; // a slow store: this beat is skipped, the next one catches up
    const due = o.clock.now().getTime() - forgottenAt >= FORGET_EVERY_MS;
    if (due) forgottenAt = o.clock.now().getTime();
    beating = o.store.daemons
      .beat(record.id, now())
      .then(() => (due ? forget() : undefined))
      .catch((error: unknown) => {
        // A busy store misses one beat; the next one catches up.
        o.logger.warn({ component: 'heartbeat', err: error }, 'heartbeat not written');
      })
      .finally(() => (beating = null));
  }, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    id: record.id,
    stop: async () => {
      clearInterval(timer);
      await beating;
      await o.store.daemons.remove(record.id);
    },
  };
}

/** Whether the daemon beat within {@link HEARTBEAT_STALE_MS} of `now`. */
export function isBeating(d: DaemonRecord, now: Date): boolean {
  return now.getTime() - Date.parse(d.heartbeatAt) <= HEARTBEAT_STALE_MS;
}

/** The daemons whose heartbeat is recent, newest first. */
export async function liveDaemons(store: StoreApi, now: Date): Promise<DaemonRecord[]> {
  return (await store.daemons.list()).filter((d) => isBeating(d, now));
}
