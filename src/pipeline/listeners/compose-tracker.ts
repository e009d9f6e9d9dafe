import type { Envelope } from '../../events/envelope.ts';
import type { ArtifactFailed, ArtifactFinished, ArtifactRequested, ArtifactSummary } from '../../events/relengd/artifact.ts';
import type { OstreeComposeFailed, OstreeComposeFinished } from '../../events/relengd/compose.ts';
import type { ComposeFinished, ComposeStatus } from '../../events/relengd/release.ts';
import { nothing, type Decision, type Emit, type Listener, type ListenerContext } from '../listener.ts';
import { streamById } from './streams.ts';

export const COMPOSE_TRACKER = 'compose-tracker';

/** A compose id names the group's compose, shared by its arches: each arch's join is its own. */
export function trackerKey(composeId: string, stream: string): string {
  return `${composeId}/${stream}`;
}

/** The join of one arch's compose; one recorded before compose ids were shared is under the bare id. */
function trackedOf(state: ListenerContext['state'], composeId: string, stream: string): { key: string; tracked: TrackedCompose | undefined } {
  const key = trackerKey(composeId, stream);
  const tracked = state.get(COMPOSE_TRACKER, key) as TrackedCompose | undefined;
  if (tracked) return { key, tracked };
  const legacy = state.get(COMPOSE_TRACKER, composeId) as TrackedCompose | undefined;
  return legacy?.stream === stream ? { key: composeId, tracked: legacy } : { key, tracked: undefined };
}

/** One compose's artifacts, joined as their builds end. */
export interface TrackedCompose {
  stream: string;
  commit: string;
  version: string | null;
  artifacts: Record<string, { failable: boolean; state: 'requested' | 'finished' | 'failed'; summary?: ArtifactSummary }>;
}

/** The join's artifacts once `request` is asked for. */
export function withArtifactRequested(artifacts: TrackedCompose['artifacts'], request: ArtifactRequested): TrackedCompose['artifacts'] {
  return { ...artifacts, [request.name]: { failable: request.failable, state: 'requested' } };
}

/** The join's artifacts after a build result; undefined when the build is unknown or its result was counted already. */
export function withArtifactResult(artifacts: TrackedCompose['artifacts'], topic: string, result: ArtifactFinished | ArtifactFailed): TrackedCompose['artifacts'] | undefined {
  const entry = artifacts[result.name];
  if (!entry || entry.state !== 'requested') return undefined;
  if (topic !== 'relengd.artifact.build.finished') return { ...artifacts, [result.name]: { ...entry, state: 'failed' } };
  const { name, kind, platform, format, path, sha256, size, digest } = result as ArtifactFinished;
  // A container image is known by its manifest digest: promotion moves tags to it.
  const summary: ArtifactSummary = { name, kind, platform, format, path, sha256, size, ...(digest === undefined ? {} : { digest }) };
  return { ...artifacts, [result.name]: { ...entry, state: 'finished', summary } };
}

/** Pungi's rule: a failed non-failable artifact dooms the compose, failable ones only make it incomplete. */
export function composeStatus(artifacts: TrackedCompose['artifacts']): ComposeStatus {
  const all = Object.values(artifacts);
  if (all.some((a) => a.state === 'failed' && !a.failable)) return 'DOOMED';
  if (all.some((a) => a.state === 'failed')) return 'FINISHED_INCOMPLETE';
  return 'FINISHED';
}

/**
 * Joins a compose and its artifact builds into one `compose.finished` with Pungi's statuses:
 * FINISHED (everything built), FINISHED_INCOMPLETE (only failable artifacts failed), DOOMED
 * (the compose or a non-failable artifact failed). A commit Pungi made (`pungiComposeId`) is
 * joined by the pungi-tracker instead: Pungi's own status message ends that compose.
 */
export const composeTracker: Listener = {
  name: 'compose-tracker',
  topics: [
    'relengd.ostree.compose.finished',
    'relengd.ostree.compose.failed',
    'relengd.artifact.build.requested',
    'relengd.artifact.build.finished',
    'relengd.artifact.build.failed',
  ],
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    switch (event.topic) {
      case 'relengd.ostree.compose.finished': {
        const finished = event.data as OstreeComposeFinished;
        const stream = streamById(config, finished.stream);
        // With artifacts to build, the requests that follow open the join; a no-change compose is never announced.
        if (!finished.commit || !stream || stream.artifacts.length > 0 || finished.pungiComposeId !== undefined) return nothing();
        return done(config, finished.composeId, { stream: finished.stream, commit: finished.commit, version: finished.version, artifacts: {} }, 'FINISHED');
      }
      case 'relengd.ostree.compose.failed': {
        const failed = event.data as OstreeComposeFailed;
        if (failed.pungiComposeId !== undefined) return nothing();
        return done(config, failed.composeId, { stream: failed.stream, commit: null, version: failed.version ?? null, artifacts: {} }, 'DOOMED');
      }
      case 'relengd.artifact.build.requested': {
        const request = event.data as ArtifactRequested;
        if (request.pungiComposeId !== undefined) return nothing();
        const known = trackedOf(state, request.composeId, request.stream);
        const tracked: TrackedCompose = known.tracked ?? {
          stream: request.stream,
          commit: request.commit,
          version: request.version ?? null,
          artifacts: {},
        };
        return { ...nothing(), patches: [{ namespace: COMPOSE_TRACKER, key: known.key, value: { ...tracked, artifacts: withArtifactRequested(tracked.artifacts, request) } }] };
      }
      default: {
        const result = event.data as ArtifactFinished | ArtifactFailed;
        const { key, tracked } = trackedOf(state, result.composeId, result.stream);
        const artifacts = tracked && withArtifactResult(tracked.artifacts, event.topic, result);
        if (!tracked || !artifacts) return nothing(); // unknown or already counted
        const updated: TrackedCompose = { ...tracked, artifacts };
        if (Object.values(updated.artifacts).some((a) => a.state === 'requested')) {
          return { ...nothing(), patches: [{ namespace: COMPOSE_TRACKER, key, value: updated }] };
        }
        const decision = done(config, result.composeId, updated, composeStatus(updated.artifacts));
        decision.patches.push({ namespace: COMPOSE_TRACKER, key, value: null });
        return decision;
      }
    }
  },
};

function done(config: ListenerContext['config'], composeId: string, tracked: Omit<TrackedCompose, 'commit'> & { commit: string | null }, status: ComposeStatus): Decision {
  const stream = streamById(config, tracked.stream);
  if (!stream) return nothing();
  const data: ComposeFinished = {
    composeId,
    stream: stream.id,
    group: stream.group,
    arch: stream.arch,
    ref: stream.ostree.ref,
    commit: tracked.commit,
    version: tracked.version,
    status,
    artifacts: Object.values(tracked.artifacts).flatMap((a) => (a.summary ? [a.summary] : [])),
  };
  const emit: Emit = { topic: 'relengd.compose.finished', key: composeId, subject: stream.ostree.ref, data };
  return { ...nothing(), emit: [emit] };
}
