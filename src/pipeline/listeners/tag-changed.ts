import type { TagTriggerConfig } from '../../config/index.ts';
import type { Topic } from '../../events/catalogue.ts';
import type { Envelope } from '../../events/envelope.ts';
import { kojiTagOf, type KojiRepoDone, type KojiTag } from '../../events/inbound/koji.ts';
import type { Decision, Listener, ListenerContext } from '../listener.ts';
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

    return requestComposes(event, wants('compose'), state, wants('artifacts'));
  },
};
