import type { TopicSpec } from '../catalogue.ts';
import { ArtifactFailed, ArtifactFinished, ArtifactRequested } from './artifact.ts';
import { BusSilent } from './bus.ts';
import { OstreeComposeFailed, OstreeComposeFinished, OstreeComposeRequested } from './compose.ts';
import { ComposeRequest } from './compose-command.ts';
import { ComposeFinished, PromoteRequested, PromotionRefused, ReleaseApprove, ReleasePromoted } from './release.ts';
import { ScheduleFired } from './schedule.ts';

/** Topics relengd publishes (bare names; published under the deployment's prefix). */
export const relengdTopics = {
  'relengd.ostree.compose.requested': {
    schema: OstreeComposeRequested,
    summary: 'A stream tree is to be recomposed (rpm-ostree compose tree).',
    origin: 'relengd',
  },
  'relengd.ostree.compose.finished': {
    schema: OstreeComposeFinished,
    summary: 'A compose ended: the new commit, or null when nothing changed.',
    origin: 'relengd',
  },
  'relengd.ostree.compose.failed': {
    schema: OstreeComposeFailed,
    summary: 'A compose command failed; the log path says why.',
    origin: 'relengd',
  },
  'relengd.artifact.build.requested': {
    schema: ArtifactRequested,
    summary: 'An installer ISO or image is to be built from a commit.',
    origin: 'relengd',
  },
  'relengd.artifact.build.finished': {
    schema: ArtifactFinished,
    summary: 'An artifact was built: path, size, sha256.',
    origin: 'relengd',
  },
  'relengd.artifact.build.failed': {
    schema: ArtifactFailed,
    summary: 'An artifact build failed.',
    origin: 'relengd',
  },
  'relengd.compose.finished': {
    schema: ComposeFinished,
    summary: 'A compose and its artifacts are done: FINISHED, FINISHED_INCOMPLETE or DOOMED.',
    origin: 'relengd',
  },
  'relengd.release.promotion.refused': {
    schema: PromotionRefused,
    summary: 'A release candidate was not promoted, with the reason.',
    origin: 'relengd',
  },
  'relengd.release.promoted': {
    schema: ReleasePromoted,
    summary: 'A group of release refs moved to a tested version.',
    origin: 'relengd',
  },
  'relengd.release.promote.requested': {
    schema: PromoteRequested,
    summary: 'A release engineer asked to promote a group version now, skipping the gates (audited).',
    origin: 'relengd',
  },
  'relengd.compose.request': {
    schema: ComposeRequest,
    summary: 'A release engineer asked for a compose of a stream or group now, as if its trigger had fired (audited).',
    origin: 'relengd',
  },
  'relengd.release.approve': {
    schema: ReleaseApprove,
    summary: 'An approval of a group version for release, from an allowed publisher.',
    origin: 'relengd',
  },
  'relengd.schedule.fired': {
    schema: ScheduleFired,
    summary: "A slot of a stream group's schedule came (relengd's calendar): compose, or rebuild the artifacts.",
    origin: 'relengd',
  },
  'relengd.bus.silent': {
    schema: BusSilent,
    summary: 'A watched topic (`watch`) has had no message for longer than its quietHours.',
    origin: 'relengd',
  },
} as const satisfies Record<string, TopicSpec>;

/** CloudEvents type of a relengd topic: `relengd.compose.finished` -> `org.relengd.compose.finished`. */
export function cloudEventTypeOf(topic: string): string {
  return topic.startsWith('relengd.') ? `org.${topic}` : topic;
}

/** Inverse of cloudEventTypeOf; other types are taken to be the (possibly prefixed) topic itself. */
export function topicOfCloudEventType(type: string): string {
  return type.startsWith('org.relengd.') ? type.slice('org.'.length) : type;
}
