import type { StreamConfig } from '../../config/index.ts';
import type { Emit, StateView } from '../listener.ts';
import { artifactRequests } from './artifacts.ts';
import { STREAM_HEAD, type StreamHead } from './composer.ts';

/**
 * Installer and images rebuilt from `stream`'s current commit as compose `composeId`. A rebuild is
 * a compose of its own (same commit, new artifacts), so gating sees it whole; a stream that has no
 * commit yet (or only Pungi's) has nothing to rebuild from.
 */
export function rebuildArtifacts(stream: StreamConfig, composeId: string, state: StateView): Emit[] {
  const head = state.get(STREAM_HEAD, stream.id) as StreamHead | undefined;
  // A commit Pungi made gets its artifacts in Pungi's compose, whose join has ended.
  if (!head || head.pungiComposeId !== undefined) return [];
  return artifactRequests(stream, composeId, head.commit, head.version).map((e) => ({ ...e, key: `${stream.id}/${e.key}` }));
}
