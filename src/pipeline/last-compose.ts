/**
 * A stream's last compose and how it ended, read from the stored events: the newest
 * `compose.finished` (FINISHED, FINISHED_INCOMPLETE, DOOMED) with why it is not FINISHED (the
 * compose's own failure, each failed artifact, or Pungi's word), or a failed compose that nothing
 * announced after it. `relengd status` and the dashboard show it.
 */
import type { StreamConfig } from '../config/index.ts';
import type { ComposeStatus } from '../events/relengd/release.ts';
import { dataOf, type StoredEvent } from '../store/events.ts';
import type { StoreApi } from '../store/api.ts';

/** Why a compose did not finish whole. */
export interface ComposeReason {
  /** `compose`: its tree was not committed (or Pungi's commit not usable); `artifact`: the build `name` failed; `pungi`: Pungi ended the compose so. */
  kind: 'compose' | 'artifact' | 'pungi';
  name: string | null;
  error: string;
  /** The failed job's log file; for `pungi`, the compose's location (its logs are there). */
  log: string | null;
  /** The event that said it. */
  eventId: string;
}

export interface LastCompose {
  composeId: string;
  version: string | null;
  /** As `compose.finished` says it; FAILED: the compose failed and no `compose.finished` followed (a commit Pungi announced that relengd could not use). */
  status: ComposeStatus | 'FAILED';
  commit: string | null;
  /** When relengd announced it (or recorded the failure). */
  time: string;
  correlationId: string;
  /** Empty for FINISHED. */
  reasons: ComposeReason[];
}

/** `scanLimit`: how many of the stream's newest events of each topic are looked at. */
export async function lastCompose(store: StoreApi, stream: StreamConfig, scanLimit: number): Promise<LastCompose | null> {
  const ofStream = async (topic: string): Promise<StoredEvent[]> => (await store.events.query({ topic, subject: stream.ostree.ref, limit: scanLimit })).filter((e) => dataOf(e).stream === stream.id);
  const finished = (await ofStream('relengd.compose.finished'))[0];
  const failures = await ofStream('relengd.ostree.compose.failed');
  const failure = failures[0];
  if (failure && (!finished || failure.seq > finished.seq)) {
    const d = dataOf(failure);
    return { composeId: String(d.composeId), version: stringOrNull(d.version), status: 'FAILED', commit: null, ...when(failure), reasons: [composeReason(failure)] };
  }
  if (!finished) return null;
  const d = dataOf(finished);
  const status = String(d.status) as ComposeStatus;
  const compose = { composeId: String(d.composeId), version: stringOrNull(d.version), status, commit: stringOrNull(d.commit), ...when(finished) };
  if (status === 'FINISHED') return { ...compose, reasons: [] };

  // A Pungi compose's arches carry their own compose ids, and Pungi's as pungiComposeId.
  const before = (e: StoredEvent): boolean => e.seq < finished.seq && (dataOf(e).composeId === compose.composeId || dataOf(e).pungiComposeId === compose.composeId);
  const reasons: ComposeReason[] = [];
  const composeFailure = compose.commit === null ? failures.find(before) : undefined;
  if (composeFailure) reasons.push(composeReason(composeFailure));
  // Built artifacts are listed in compose.finished; each other one's newest failure says why.
  const built = new Set((Array.isArray(d.artifacts) ? d.artifacts : []).map((a) => (a as { name?: unknown }).name));
  const named = new Set<string>();
  for (const e of (await ofStream('relengd.artifact.build.failed')).filter(before)) {
    const name = String(dataOf(e).name);
    if (built.has(name) || named.has(name)) continue;
    named.add(name);
    reasons.push({ kind: 'artifact', name, error: String(dataOf(e).error), log: stringOrNull(dataOf(e).log), eventId: e.envelope.id });
  }
  if (reasons.length === 0 && stream.triggers.pungi) {
    const said = (await store.events.query({ topic: 'pungi.compose.status.change', limit: scanLimit })).find((e) => dataOf(e).compose_id === compose.composeId);
    if (said) reasons.push({ kind: 'pungi', name: null, error: `Pungi ended compose ${compose.composeId} as ${String(dataOf(said).status)}`, log: stringOrNull(dataOf(said).location), eventId: said.envelope.id });
  }
  return { ...compose, reasons };
}

function composeReason(e: StoredEvent): ComposeReason {
  return { kind: 'compose', name: null, error: String(dataOf(e).error), log: stringOrNull(dataOf(e).log), eventId: e.envelope.id };
}

function when(e: StoredEvent): { time: string; correlationId: string } {
  return { time: e.envelope.time, correlationId: e.envelope.correlationid };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
