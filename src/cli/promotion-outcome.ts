import { daemonIsUp, fetchChain } from '../bus/embedded/client.ts';
import type { Config } from '../config/index.ts';
import { eventView } from '../store/events.ts';
import { openStore } from '../store/open.ts';
import { httpTokenFrom } from './context.ts';
import { HEARTBEAT_STALE_MS, liveDaemons } from './heartbeat.ts';
import { isHttpRoute, type CommandRoute } from './operator-command.ts';

/** No outcome in the chain yet. */
export type Pending = { outcome: 'pending' };

/** A release ref's move as the outcome events report it (`from` null: the ref was created, or did not move). */
export type RefMove = { ref: string; arch: string; from: string | null; to: string };

/** One line per ref: `  fedora/26/x86_64/atomic-host  0a1b2c3d4e5f -> 6a7b8c9d0e1f`. */
export function refMoveLines(refs: readonly RefMove[]): string[] {
  return refs.map((r) => `  ${r.ref}  ${r.from?.slice(0, 12) ?? '(new)'} -> ${r.to.slice(0, 12)}`);
}

/** What became of a promotion request: the refs moved, or the refusal with its reason. */
export type PromotionOutcome = { outcome: 'promoted'; version: string; refs: RefMove[] } | { outcome: 'refused'; reason: string; detail: string } | Pending;

/** What became of a rollback request: the refs moved back, or the refusal with its reason; pending, maybe waiting for its rollback commits' signatures. */
export type RollbackOutcome =
  | { outcome: 'rolled-back'; fromVersion: string; toVersion: string; refs: RefMove[] }
  | { outcome: 'refused'; reason: string; detail: string }
  | Pending
  | { outcome: 'pending'; awaitingSignature: Array<{ ref: string; commit: string }> };

const POLL_MS = 250;

/**
 * Follows the chain a command started (its id is the chain's correlation id) until `outcomeOf`
 * finds its outcome in it, or `timeoutMs` passes (then `pending`). Reads the daemon over HTTP when
 * the command went that way, else the local store; either way the daemon must be up, since it is
 * the one that acts (locally: a fresh heartbeat in the store). `acts` says what it does, for the
 * message when it is down ("promotes", "rolls back").
 * @throws Error `cannot reach relengd ...` when no daemon answers
 */
export async function waitForOutcome<T extends { outcome: string }>(
  config: Config,
  route: CommandRoute,
  requestId: string,
  timeoutMs: number,
  how: { outcomeOf: (chain: readonly unknown[]) => T | Pending; acts: string },
): Promise<T | Pending> {
  const token = httpTokenFrom(route.tokenFile);
  const overHttp = isHttpRoute(route);
  const baseUrl = route.url ?? `http://${config.http.host}:${config.http.port}`;
  if (overHttp ? !(await daemonIsUp(baseUrl)) : !(await localDaemonIsUp(config))) {
    const where = overHttp ? `at ${baseUrl}` : `(no daemon heartbeat in ${config.store.url ?? config.store.path} for ${HEARTBEAT_STALE_MS / 1000} s)`;
    throw new Error(`cannot reach relengd ${where}: the request is recorded (${requestId}), and the daemon ${how.acts} it when it runs (relengd start)`);
  }
  const read = overHttp ? () => fetchChain(baseUrl, requestId, { token }) : localChain(config, requestId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = how.outcomeOf(await read());
    if (outcome.outcome !== 'pending' || Date.now() >= deadline) return outcome;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** `waitForOutcome` of a promotion request. */
export function waitForPromotion(config: Config, route: CommandRoute, requestId: string, timeoutMs: number): Promise<PromotionOutcome> {
  return waitForOutcome(config, route, requestId, timeoutMs, { outcomeOf, acts: 'promotes' });
}

/** `waitForOutcome` of a rollback request. */
export function waitForRollback(config: Config, route: CommandRoute, requestId: string, timeoutMs: number): Promise<RollbackOutcome> {
  return waitForOutcome(config, route, requestId, timeoutMs, { outcomeOf: rollbackOutcomeOf, acts: 'rolls back' });
}

async function localDaemonIsUp(config: Config): Promise<boolean> {
  const store = await openStore(config, { existing: true });
  try {
    return (await liveDaemons(store, new Date())).length > 0;
  } finally {
    await store.close();
  }
}

function localChain(config: Config, requestId: string): () => Promise<unknown[]> {
  return async () => {
    const store = await openStore(config, { existing: true });
    try {
      return (await store.events.query({ correlationId: requestId, order: 'asc' })).map(eventView);
    } finally {
      await store.close();
    }
  };
}

/** The first event of `topics` in a chain of event views, with its data. */
function firstOf(chain: readonly unknown[], topics: readonly string[]): { topic: string; data: Record<string, unknown> } | undefined {
  for (const view of chain) {
    const { topic, data } = view as { topic?: string; data?: Record<string, unknown> };
    if (topic !== undefined && topics.includes(topic) && data) return { topic, data };
  }
  return undefined;
}

/** The first promotion outcome in a chain of event views. */
export function outcomeOf(chain: readonly unknown[]): PromotionOutcome {
  const found = firstOf(chain, ['relengd.release.promoted', 'relengd.release.promotion.refused']);
  if (!found) return { outcome: 'pending' };
  const { topic, data } = found;
  if (topic === 'relengd.release.promoted') return { outcome: 'promoted', version: String(data.version), refs: data.refs as RefMove[] };
  return { outcome: 'refused', reason: String(data.reason), detail: String(data.detail) };
}

/** The first rollback outcome in a chain of event views. */
export function rollbackOutcomeOf(chain: readonly unknown[]): RollbackOutcome {
  const found = firstOf(chain, ['relengd.release.rolled-back', 'relengd.release.rollback.refused']);
  if (!found) {
    // A signed group's rollback wrote its commits and waits for their signatures before any ref moves.
    const awaiting = firstOf(chain, ['relengd.release.awaiting-signature'])?.data.commits as Array<{ ref: string; commit: string }> | undefined;
    return awaiting ? { outcome: 'pending', awaitingSignature: awaiting.map((c) => ({ ref: c.ref, commit: c.commit })) } : { outcome: 'pending' };
  }
  const { topic, data } = found;
  if (topic === 'relengd.release.rolled-back') return { outcome: 'rolled-back', fromVersion: String(data.fromVersion), toVersion: String(data.toVersion), refs: data.refs as RefMove[] };
  return { outcome: 'refused', reason: String(data.reason), detail: String(data.detail) };
}
