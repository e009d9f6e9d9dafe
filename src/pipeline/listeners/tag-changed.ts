import type { TagTriggerConfig } from '../../config/index.ts';
import type { Topic } from '../../events/catalogue.ts';
import type { Envelope } from '../../events/envelope.ts';
import { composeId } from '../../events/ids.ts';
import { kojiTagOf, type KojiRepoDone, type KojiTag } from '../../events/inbound/koji.ts';
import { nothing, type Decision, type Listener, type ListenerContext } from '../listener.ts';
import { artifactRequests } from './artifacts.ts';
import { STREAM_HEAD, type StreamHead } from './composer.ts';
import { requestComposes } from './compose-requests.ts';

const KOJI_EVENT = {
  'buildsys.tag': 'tag',
  'buildsys.untag': 'untag',
  'buildsys.repo.done': 'repo.done',
} as const satisfies Partial<Record<Topic, TagTriggerConfig['on'][number]>>;
type KojiTopic = keyof typeof KOJI_EVENT;

/**
 * A Koji tag changed: do what each stream configures for that tag — compose the tree, or only
 * rebuild its installer and images from the current commit (the seed's two-week flow rebuilds
 * them from the f26-atomic tag while the tree comes from the updates path).
 */
export const tagChanged: Listener = {
  name: 'tag-changed',
  topics: Object.keys(KOJI_EVENT) as KojiTopic[],
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    const tag = kojiTagOf(event.data as KojiTag | KojiRepoDone);
    const kind: TagTriggerConfig['on'][number] | undefined = KOJI_EVENT[event.topic as KojiTopic];
    const wants = (action: TagTriggerConfig['action']) =>
      config.streams.filter((s) => s.triggers.tags.some((t) => t.tag === tag && t.action === action && kind !== undefined && t.on.includes(kind)));

    const decision = nothing();
    const toCompose = wants('compose');
    if (toCompose.length > 0) {
      const composes = requestComposes(event, toCompose, state);
      decision.emit.push(...composes.emit);
      decision.patches.push(...composes.patches);
    }
    for (const stream of wants('artifacts')) {
      const head = state.get(STREAM_HEAD, stream.id) as StreamHead | undefined;
      if (!head) continue; // nothing composed yet: nothing to rebuild from
      // A rebuild is a compose of its own (same commit, new artifacts), so gating sees it whole.
      const rebuild = composeId(event.id, 'tag-changed', stream.id);
      decision.emit.push(...artifactRequests(stream, rebuild, head.commit, head.version).map((e) => ({ ...e, key: `${stream.id}/${e.key}` })));
    }
    return decision;
  },
};
