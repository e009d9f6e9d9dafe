import type { Envelope } from '../../events/envelope.ts';
import { imageDigestOf, type ArtifactFinished } from '../../events/relengd/artifact.ts';
import type { ImageIndexJobSpec } from '../../jobs/specs.ts';
import { imageAccess, listTagOf, ociArtifact } from '../images.ts';
import { nothing, type Decision, type Listener, type ListenerContext } from '../listener.ts';
import { streamById, streamsOfGroup } from './streams.ts';

export const IMAGE_INDEX = 'image-index';

/** The arches' images of one group version and `oci` artifact, as their pushes are announced. */
export interface ImageSet {
  group: string;
  version: string;
  name: string;
  images: Record<string, { stream: string; digest: string }>;
}

/**
 * Joins a group version's per-arch container images (`kind: oci`) and, once every arch of the
 * group has its image (all arches or none), enqueues one manifest list over them. The job shares the
 * group's promotion queue: the list is in the registry before a promotion of the group runs. An
 * arch rebuilt with a different image makes a new list; the same images again make none.
 */
export const imageIndex: Listener = {
  name: 'image-index',
  topics: ['relengd.artifact.build.finished'],
  handle(event: Envelope, { config, state }: ListenerContext): Decision {
    const built = event.data as ArtifactFinished;
    const digest = imageDigestOf(built);
    const stream = streamById(config, built.stream);
    const artifact = stream && ociArtifact(stream, built.name);
    if (digest === null || !built.version || !stream || !artifact) return nothing();

    const key = `${stream.group}/${built.version}/${built.name}`;
    const arches = streamsOfGroup(config, stream.group).filter((s) => ociArtifact(s, built.name));
    const seen = (state.get(IMAGE_INDEX, key) as ImageSet | undefined) ?? { group: stream.group, version: built.version, name: built.name, images: {} };
    const updated: ImageSet = { ...seen, images: { ...seen.images, [stream.arch]: { stream: stream.id, digest } } };
    const decision: Decision = { ...nothing(), patches: [{ namespace: IMAGE_INDEX, key, value: updated }] };

    const complete = (set: ImageSet) => arches.every((s) => set.images[s.arch] !== undefined);
    if (!complete(updated)) return decision;
    if (complete(seen) && seen.images[stream.arch]?.digest === digest) return decision; // the same list again

    const spec: ImageIndexJobSpec = {
      group: stream.group,
      version: built.version,
      name: built.name,
      ...imageAccess(artifact.oci),
      tag: listTagOf(stream, artifact, built.version),
      images: arches.map((s) => ({ arch: s.arch, ...updated.images[s.arch]! })),
    };
    decision.jobs.push({ kind: 'image-index', key: 'index', queueKey: `promote:${stream.group}`, spec });
    return decision;
  },
};
