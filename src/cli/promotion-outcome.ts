import { daemonIsUp, fetchChain } from '../bus/embedded/client.ts';
import type { Config } from '../config/index.ts';
import { eventView } from '../store/events.ts';
import { Store } from '../store/store.ts';
import { httpTokenFrom } from './context.ts';
import { HEARTBEAT_STALE_MS, liveDaemons } from './heartbeat.ts';
import { isHttpRoute, type CommandRoute } from './operator-command.ts';

/** What became of a promotion request: the refs moved, or the refusal with its reason. */
export type PromotionOutcome =
  | { outcome: 'promoted'; version: string; refs: Array<{ ref: string; arch: string; from: string | null; to: string }> }
  | { outcome: 'refused'; reason: string; detail: string }
  | { outcome: 'pending' };

const POLL_MS = 250;

/**
 * Follows the chain the request started (its id is the chain's correlation id) until it holds a
 * `release.promoted` or `release.promotion.refused`, or `timeoutMs` passes (then `pending`). Reads
 * the daemon over HTTP when the request went that way, else the local store; either way the daemon
 * must be up, since it is the one that promotes (locally: a fresh heartbeat in the store).
 * @throws Error `cannot reach relengd ...` when no daemon answers
 */
export async function waitForPromotion(config: Config, route: CommandRoute, requestId: string, timeoutMs: number): Promise<PromotionOutcome> {
  const token = httpTokenFrom(route.tokenFile);
  const overHttp = isHttpRoute(route);
  const baseUrl = route.url ?? `http://${config.http.host}:${config.http.port}`;
  if (overHttp ? !(await daemonIsUp(baseUrl)) : !localDaemonIsUp(config)) {
    const where = overHttp ? `at ${baseUrl}` : `(no daemon heartbeat in ${config.store.path} for ${HEARTBEAT_STALE_MS / 1000} s)`;
    throw new Error(`cannot reach relengd ${where}: the request is recorded (${requestId}), and the daemon promotes it when it runs (relengd start)`);
  }
  const read = overHttp ? () => fetchChain(baseUrl, requestId, { token }) : localChain(config, requestId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = outcomeOf(await read());
    if (outcome.outcome !== 'pending' || Date.now() >= deadline) return outcome;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function localDaemonIsUp(config: Config): boolean {
  const store = Store.openExisting(config.store.path);
  try {
    return liveDaemons(store, new Date()).length > 0;
  } finally {
    store.close();
  }
}

function localChain(config: Config, requestId: string): () => unknown[] {
  return () => {
    const store = Store.openExisting(config.store.path);
    try {
      return store.events.query({ correlationId: requestId, order: 'asc' }).map(eventView);
    } finally {
      store.close();
    }
  };
}

/** The first promotion outcome in a chain of event views. */
export function outcomeOf(chain: readonly unknown[]): PromotionOutcome {
  for (const view of chain) {
    const { topic, data } = view as { topic?: string; data?: Record<string, unknown> };
    if (topic === 'relengd.release.promoted' && data) {
      return { outcome: 'promoted', version: String(data.version), refs: data.refs as Extract<PromotionOutcome, { outcome: 'promoted' }>['refs'] };
    }
    if (topic === 'relengd.release.promotion.refused' && data) return { outcome: 'refused', reason: String(data.reason), detail: String(data.detail) };
  }
  return { outcome: 'pending' };
}
