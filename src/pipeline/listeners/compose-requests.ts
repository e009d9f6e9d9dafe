import type { StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import { nothing, type Decision, type StateView } from '../listener.ts';
import { rebuildArtifacts } from './rebuild-artifacts.ts';
import { allocateCompose, byGroup } from './streams.ts';

/**
 * What `event` makes each group do: compose the trees of `compose` (one request per stream), and
 * rebuild the installers and images of `rebuild` from their current commits. One compose id per
 * group (and one version for the streams that compose), shared by its arches. A stream in both
 * lists only composes: its new commit gets its artifacts built anyway.
 */
export function requestComposes(event: Envelope, compose: readonly StreamConfig[], state: StateView, rebuild: readonly StreamConfig[] = []): Decision {
  const decision = nothing();
  const composing = new Set(compose.map((s) => s.id));
  for (const [, members] of byGroup([...compose, ...rebuild.filter((s) => !composing.has(s.id))])) {
    const composers = members.filter((s) => composing.has(s.id));
    const { version, composeId, patches } = allocateCompose(members[0]!, event.id, event.time, state, composers.map((s) => s.id));
    decision.patches.push(...patches);
    for (const stream of members) {
      if (!composing.has(stream.id)) {
        decision.emit.push(...rebuildArtifacts(stream, composeId, state));
        continue;
      }
      decision.emit.push({
        topic: 'relengd.ostree.compose.requested',
        key: stream.id,
        subject: stream.ostree.ref,
        data: { stream: stream.id, ref: stream.ostree.ref, treefile: stream.ostree.treefile, version: version!, composeId, causes: [{ id: event.id, topic: event.topic }] },
      });
    }
  }
  return decision;
}
