import type { ArtifactConfig, StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import type { ArtifactRequested } from '../../events/relengd/artifact.ts';
import type { OstreeComposeFinished } from '../../events/relengd/compose.ts';
import type { ArtifactJobSpec } from '../../jobs/specs.ts';
import { nothing, type Decision, type Emit, type Listener, type ListenerContext } from '../listener.ts';
import { streamById } from './streams.ts';
import { imageAccess } from '../images.ts';

/** The build requests for every artifact a stream configures, from one commit (one Pungi made, with `pungiComposeId`). */
export function artifactRequests(stream: StreamConfig, composeId: string, commit: string, version: string | null, pungiComposeId?: string): Emit[] {
  return stream.artifacts.map((artifact: ArtifactConfig) => ({
    topic: 'relengd.artifact.build.requested',
    key: artifact.name,
    subject: stream.ostree.ref,
    data: {
      composeId,
      stream: stream.id,
      commit,
      version,
      name: artifact.name,
      kind: artifact.kind,
      platform: artifact.platform,
      format: artifact.format,
      failable: artifact.failable,
      ...(pungiComposeId === undefined ? {} : { pungiComposeId }),
    } satisfies ArtifactRequested,
  }));
}

/**
 * A new commit gets its installer and images: one build request per configured artifact, and one
 * job per request (lorax, koji image-build, ... as the stream configures).
 */
export const artifacts: Listener = {
  name: 'artifacts',
  topics: ['relengd.ostree.compose.finished', 'relengd.artifact.build.requested'],
  handle(event: Envelope, { config }: ListenerContext): Decision {
    if (event.topic === 'relengd.ostree.compose.finished') {
      const finished = event.data as OstreeComposeFinished;
      const stream = streamById(config, finished.stream);
      if (!finished.commit || !stream) return nothing(); // no new commit: nothing to build
      return { ...nothing(), emit: artifactRequests(stream, finished.composeId, finished.commit, finished.version, finished.pungiComposeId) };
    }
    const request = event.data as ArtifactRequested;
    const stream = streamById(config, request.stream);
    const artifact = stream?.artifacts.find((a) => a.name === request.name);
    if (!stream || !artifact) return nothing();
    const spec: ArtifactJobSpec = {
      ...request,
      arch: stream.arch,
      group: stream.group,
      release: stream.release,
      // A commit Pungi made is in its compose repository until a promotion pulls it into ostree.repo.
      repo: request.pungiComposeId !== undefined && stream.triggers.pungi ? stream.triggers.pungi.repo : stream.ostree.repo,
      ref: stream.ostree.ref,
      output: artifact.output,
      command: [...artifact.command],
      ...(artifact.oci ? { oci: { ...imageAccess(artifact.oci), tag: artifact.oci.tag } } : {}),
    };
    return { ...nothing(), jobs: [{ kind: 'artifact', key: 'build', queueKey: `artifact:${stream.id}:${artifact.name}`, spec }] };
  },
};
