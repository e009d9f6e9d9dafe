import type { Envelope } from '../../events/envelope.ts';
import { jobId } from '../../events/ids.ts';
import type { OstreeComposeFailed, OstreeComposeFinished, OstreeComposeRequested } from '../../events/relengd/compose.ts';
import type { ComposeJobSpec } from '../../jobs/specs.ts';
import { nothing, type Decision, type Listener, type ListenerContext } from '../listener.ts';
import { streamById, versionEnded } from './streams.ts';

export const COMPOSE_QUEUE = 'compose-queue';
/** A follow-up remembers its most recent causes only: a compose stuck for hours must not make every request slower. */
export const MAX_CAUSES = 50;
export const STREAM_HEAD = 'stream-head';

type Cause = OstreeComposeRequested['causes'][number];

/** One ref's composes: the job in flight, and at most one follow-up that later requests merge into. */
export interface ComposeQueue {
  /** `composeId` is absent in queues recorded before compose ids: the job id named the compose then. */
  active: { jobId: string; version: string; composeId?: string } | null;
  pending: { version: string; composeId?: string; causes: Cause[] } | null;
}

/** What a stream last composed (relengd's composes and Pungi's commits alike): the artifacts-only rebuilds and `relengd status` read it. */
export interface StreamHead {
  composeId: string;
  commit: string;
  version: string | null;
  ref: string;
  /** When the compose finished (its event's time): a result older than the head never replaces it. Absent in heads recorded before it existed. */
  finishedAt?: string;
  /** Set when Pungi made the commit: it is in Pungi's compose repository (`triggers.pungi.repo`) until a promotion pulls it. */
  pungiComposeId?: string;
}

const topics = ['relengd.ostree.compose.requested', 'relengd.ostree.compose.finished', 'relengd.ostree.compose.failed'] as const;

/**
 * Runs composes one at a time per ref. A request while a compose is in flight becomes the one
 * follow-up; further requests merge into that follow-up (coalescing), so a burst of Bodhi pushes
 * costs at most two composes. Every new commit becomes its stream's head when it is newer than the
 * recorded one: the ref's active compose, a retried one (`relengd jobs retry`) and Pungi's.
 */
export const composer: Listener = {
  name: 'composer',
  topics,
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    const data = event.data as OstreeComposeRequested | OstreeComposeFinished | OstreeComposeFailed;
    const queue: ComposeQueue = (state.get(COMPOSE_QUEUE, data.ref) as ComposeQueue | undefined) ?? { active: null, pending: null };
    const decision = nothing();
    const save = (next: ComposeQueue): void => void decision.patches.push({ namespace: COMPOSE_QUEUE, key: data.ref, value: next.active || next.pending ? next : null });

    const group = streamById(config, data.stream)?.group;
    // A version this stream will not compose after all (merged into a later request, or left the config) is not used by it.
    const unused = (version: string): void => void (group !== undefined && decision.patches.push(...versionEnded(group, version, data.stream, false, state)));

    if (event.topic === 'relengd.ostree.compose.requested') {
      const request = data as OstreeComposeRequested;
      const composed = { version: request.version, ...(request.composeId === undefined ? {} : { composeId: request.composeId }) };
      if (queue.active === null) {
        const job = composeJob(event, 'compose', request.stream, composed, request.causes, config);
        if (!job) {
          unused(request.version);
          return decision;
        }
        decision.jobs.push(job.enqueue);
        save({ active: { jobId: job.id, ...composed }, pending: null });
      } else {
        const known = new Set(queue.pending?.causes.map((c) => c.id));
        const causes = [...(queue.pending?.causes ?? []), ...request.causes.filter((c) => !known.has(c.id))].slice(-MAX_CAUSES);
        if (queue.pending && queue.pending.version !== request.version) unused(queue.pending.version);
        save({ active: queue.active, pending: { ...composed, causes } });
      }
      return decision;
    }

    // A compose ended: remember the head, then start the follow-up if one is waiting.
    const ended = data as OstreeComposeFinished | OstreeComposeFailed;
    if (event.topic === 'relengd.ostree.compose.finished') {
      const head = newerHead(event, ended as OstreeComposeFinished, state.get(STREAM_HEAD, ended.stream) as StreamHead | undefined);
      if (head) decision.patches.push({ namespace: STREAM_HEAD, key: ended.stream, value: head });
    }
    // A failed compose keeps its version: a retry may still commit it.
    if (ended.pungiComposeId === undefined && group !== undefined && typeof ended.version === 'string') {
      const used = event.topic === 'relengd.ostree.compose.failed' || (ended as OstreeComposeFinished).commit !== null;
      decision.patches.push(...versionEnded(group, ended.version, ended.stream, used, state));
    }
    // Not the ref's active compose (a retried or Pungi's, or a result already accounted for): only its head counts.
    if (!queue.active || (queue.active.composeId ?? queue.active.jobId) !== ended.composeId) return decision;
    if (queue.pending) {
      const { causes, ...composed } = queue.pending;
      const job = composeJob(event, 'follow-up', ended.stream, composed, causes, config);
      if (job) {
        decision.jobs.push(job.enqueue);
        save({ active: { jobId: job.id, ...composed }, pending: null });
        return decision;
      }
      unused(composed.version);
    }
    save({ active: null, pending: null });
    return decision;
  },
};

/**
 * The head a finished compose makes, or undefined: no new commit, or a result that finished before
 * the recorded head (a late or re-run old result never moves the head back). Composes of one ref
 * run one at a time, so the later finish is the later commit; the event's time is when its job
 * ended, the same on every replay.
 */
function newerHead(event: Envelope, finished: OstreeComposeFinished, recorded: StreamHead | undefined): StreamHead | undefined {
  if (!finished.commit) return undefined;
  if (recorded?.finishedAt !== undefined && !(Date.parse(event.time) > Date.parse(recorded.finishedAt))) return undefined;
  return {
    composeId: finished.composeId,
    commit: finished.commit,
    version: finished.version,
    ref: finished.ref,
    finishedAt: event.time,
    ...(finished.pungiComposeId === undefined ? {} : { pungiComposeId: finished.pungiComposeId }),
  };
}

/** A compose job: everything that reaches argv (repo, ref, treefile, the command) comes from the configuration, never from the message. */
function composeJob(event: Envelope, key: string, streamId: string, compose: { version: string; composeId?: string }, causes: Cause[], config: ListenerContext['config']) {
  const stream = streamById(config, streamId);
  if (!stream) return undefined; // the stream left the config: nothing to compose
  const id = jobId(event.id, 'composer', key);
  const { version } = compose;
  const spec: ComposeJobSpec = {
    // Requests recorded before compose ids name the compose by its job.
    composeId: compose.composeId ?? id,
    stream: stream.id,
    group: stream.group,
    arch: stream.arch,
    release: stream.release,
    repo: stream.ostree.repo,
    ref: stream.ostree.ref,
    treefile: stream.ostree.treefile,
    version,
    argv: [...stream.ostree.compose],
    causes,
  };
  return { id, enqueue: { kind: 'compose', key, queueKey: `compose:${stream.ostree.repo}:${stream.ostree.ref}`, spec } };
}
