import type { StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import { nothing, type Decision, type StateView } from '../listener.ts';
import { byGroup, versionFor } from './streams.ts';

/**
 * Compose requests for `streams`, caused by `event`: one version per group (every arch of a
 * group composed from one trigger shares it), one request per stream.
 */
export function requestComposes(event: Envelope, streams: readonly StreamConfig[], state: StateView): Decision {
  const decision = nothing();
  for (const [, members] of byGroup(streams)) {
    const { version, patch } = versionFor(members[0]!, event.id, event.time, state);
    decision.patches.push(patch);
    for (const stream of members) {
      decision.emit.push({
        topic: 'relengd.ostree.compose.requested',
        key: stream.id,
        subject: stream.ostree.ref,
        data: { stream: stream.id, ref: stream.ostree.ref, treefile: stream.ostree.treefile, version, causes: [{ id: event.id, topic: event.topic }] },
      });
    }
  }
  return decision;
}
