/**
 * `POST /replay`: an operator replays stored events on the running daemon, in two steps.
 *
 * 1. A body with a selection (`since`, `until`, `topic`, `ids`, `correlation`) and no `confirm` is a
 *    dry run: the daemon runs the replay in a transaction it rolls back and answers what it would
 *    do (the events it would emit, the jobs it would enqueue or run again) with a `confirm` digest.
 * 2. The same selection (as the dry run answered it) with that `confirm` performs the replay, if its
 *    dry run, run again at that moment, still comes out the same (else 409 with the new dry run,
 *    and nothing done). The daemon records it as `relengd.replay.performed`, naming who asked.
 *
 * Both steps need an identity the server authenticated (bearer token, client certificate) that
 * `publishers["relengd.replay.requested"]` allows (src/trust.ts): 403 otherwise, with nothing
 * replayed; a token nobody has is answered 401 before this route is reached.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { OperatorReplay, ReplayPlan } from '../pipeline/operator-replay.ts';
import type { ReplayReport } from '../pipeline/replay.ts';
import type { ReplaySelectionRecord } from '../events/relengd/replay.ts';
import { authorizeOperatorRoute, type PublisherRules } from '../trust.ts';
import type { RequestIdentity } from './auth.ts';

export const REPLAY_VERB = 'relengd.replay.requested';

export interface ReplayRoute {
  operator: OperatorReplay;
  /** `publishers` of the configuration: `publishers["relengd.replay.requested"]` may replay. */
  publishers: PublisherRules;
}

/** A selection this large is no longer something to confirm by eye: use `relengd replay`. */
const MAX_IDS = 100;
/** Entries of each list in an answer; the counts are always whole. */
const LISTED = 200;

const TimeValue = z
  .string()
  .max(64)
  .refine((v) => /^\d{1,6}[smhd]$/.test(v) || /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v)), {
    message: 'an ISO 8601 time (2026-11-26T06:00:00Z) or a duration back from now (30m, 6h, 7d)',
  });
const EventId = z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'one word of visible ASCII');

/** The request body: a selection (at least one criterion), and `confirm` to perform what its dry run said. */
export const ReplayRequest = z
  .strictObject({
    since: TimeValue.optional(),
    until: TimeValue.optional(),
    topic: z.string().regex(/^[A-Za-z0-9_.*#-]{1,255}$/, 'a topic or AMQP-style pattern (letters, digits, ._-, * and #)').optional(),
    ids: z.array(EventId).min(1).max(MAX_IDS).optional(),
    correlation: EventId.optional(),
    confirm: z.string().regex(/^[0-9a-f]{64}$/, 'the confirm digest of a dry run').optional(),
  })
  .refine((r) => [r.since, r.until, r.topic, r.ids, r.correlation].some((v) => v !== undefined), {
    message: 'select something: since, until, topic, ids or correlation (replaying the whole store is `relengd replay` on the host)',
  });
export type ReplayRequest = z.infer<typeof ReplayRequest>;

export interface RouteAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Answers one `POST /replay` whose body has been read. */
export async function answerReplay(route: ReplayRoute, identity: RequestIdentity, rawBody: Buffer): Promise<RouteAnswer> {
  const requestedBy = identity.kind === 'publisher' ? identity.name : undefined;
  const verdict = authorizeOperatorRoute(REPLAY_VERB, requestedBy, route.publishers);
  if (!verdict.allowed) return { status: 403, body: { status: 'rejected', reason: 'unauthorized', error: verdict.why } };
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return bad('the body is not JSON');
  }
  const parsed = ReplayRequest.safeParse(json);
  if (!parsed.success) return bad(parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  const { confirm, correlation, ...rest } = parsed.data;
  const selection = { ...rest, correlationId: correlation };
  if (confirm === undefined) return { status: 200, body: planBody(await route.operator.dryRun(selection)) };
  const outcome = await route.operator.perform(selection, confirm, requestedBy!, randomUUID());
  if (outcome.kind === 'changed') {
    return {
      status: 409,
      body: { status: 'rejected', reason: 'changed', error: 'the replay would now do something else than the dry run confirmed: nothing was replayed; confirm this dry run instead', plan: planBody(outcome.plan) },
    };
  }
  return { status: 200, body: { ...reportBody(outcome.selection, outcome.report), requestedBy, recorded: outcome.recorded } };
}

function planBody(plan: ReplayPlan): Record<string, unknown> {
  return { ...reportBody(plan.selection, plan.report), confirm: plan.confirm };
}

/** A report with its lists cut to {@link LISTED} entries, the selection as a request gives it back. */
function reportBody(selection: ReplaySelectionRecord, r: ReplayReport): Record<string, unknown> {
  const { correlationId, ...rest } = selection;
  return {
    dryRun: r.dryRun,
    selection: { ...rest, ...(correlationId !== undefined ? { correlation: correlationId } : {}) },
    selected: r.selected,
    counts: { emitted: r.emitted.length, enqueued: r.enqueued.length, requeued: r.requeued.length, promotions: r.promotions },
    emitted: r.emitted.slice(0, LISTED),
    enqueued: r.enqueued.slice(0, LISTED),
    requeued: r.requeued.slice(0, LISTED),
  };
}

function bad(error: string): RouteAnswer {
  return { status: 400, body: { status: 'rejected', reason: 'bad-request', error } };
}
