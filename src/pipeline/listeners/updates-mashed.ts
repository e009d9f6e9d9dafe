import type { Envelope } from '../../events/envelope.ts';
import { updatesRepoOf, type BodhiRepoBodies, type BodhiRepoTopic } from '../../events/inbound/bodhi.ts';
import { nothing, type Decision, type Listener, type ListenerContext } from '../listener.ts';
import { requestComposes } from './compose-requests.ts';

const topics = ['bodhi.compose.complete', 'bodhi.mashtask.complete', 'bodhi.updates.fedora.sync'] as const satisfies readonly BodhiRepoTopic[];

/**
 * Bodhi mashed an updates repo: ask for a compose of every stream fed by that repo.
 * A failed compose, or a repo no stream lists, triggers nothing.
 */
export const updatesMashed: Listener = {
  name: 'updates-mashed',
  topics,
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    const topic = event.topic as BodhiRepoTopic;
    // The body was validated against this topic's schema at the edge.
    const { repo, success } = updatesRepoOf(topic, event.data as BodhiRepoBodies[typeof topic]);
    if (!success) return nothing();
    const fed = config.streams.filter((s) => s.triggers.updatesRepos.includes(repo));
    return fed.length > 0 ? requestComposes(event, fed, state) : nothing();
  },
};
