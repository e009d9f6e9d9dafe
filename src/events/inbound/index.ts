import type { TopicSpec } from '../catalogue.ts';
import { BodhiComposeComplete, BodhiMashtaskComplete, BodhiUpdatesFedoraSync } from './bodhi.ts';
import { GreenwaveDecisionUpdate } from './greenwave.ts';
import { KojiRepoDone, KojiTag, KojiUntag } from './koji.ts';
import { PungiComposeOstree, PungiComposeStatusChange } from './pungi.ts';
import { ResultsdbResultNew } from './resultsdb.ts';
import { ArtifactsSignFinished, ArtifactsSignRequest, OstreeSignFinished, OstreeSignRequest } from './sign.ts';

/** Inbound topics (without deployment prefix) and their body schemas. */
export const inboundTopics = {
  'bodhi.compose.complete': {
    schema: BodhiComposeComplete,
    summary: 'Bodhi finished composing an updates repo: if it succeeded, compose the OSTree streams fed by that repo.',
    origin: 'inbound',
  },
  'bodhi.mashtask.complete': {
    schema: BodhiMashtaskComplete,
    summary: 'Fedmsg-era Bodhi finished mashing an updates repo: same trigger as bodhi.compose.complete.',
    origin: 'inbound',
  },
  'bodhi.updates.fedora.sync': {
    schema: BodhiUpdatesFedoraSync,
    summary: 'Fedmsg-era: updates repo f<release>-<repo> reached the master mirror: compose the OSTree streams fed by it.',
    origin: 'inbound',
  },
  'buildsys.tag': {
    schema: KojiTag,
    summary: 'A build entered a Koji tag: rebuild the streams that depend on that tag.',
    origin: 'inbound',
  },
  'buildsys.untag': {
    schema: KojiUntag,
    summary: 'A build left a Koji tag: rebuild the streams that depend on that tag.',
    origin: 'inbound',
  },
  'buildsys.repo.done': {
    schema: KojiRepoDone,
    summary: "Koji regenerated a tag's repo: installer and image rebuilds from that tag can start.",
    origin: 'inbound',
  },
  'pungi.compose.status.change': {
    schema: PungiComposeStatusChange,
    summary: 'A Pungi compose changed status: on FINISHED(_INCOMPLETE) the nightly path picks up its OSTree commits.',
    origin: 'inbound',
  },
  'pungi.compose.ostree': {
    schema: PungiComposeOstree,
    summary: "Pungi updated an OSTree ref for one variant and arch of a compose (commitid null: no new commit); relengd announces its own commits so, for robosignatory to sign them.",
    origin: 'inbound',
  },
  'greenwave.decision.update': {
    schema: GreenwaveDecisionUpdate,
    summary: 'Greenwave changed its gating decision about a commit, compose or build: may unblock or refuse a promotion.',
    origin: 'inbound',
  },
  'resultsdb.result.new': {
    schema: ResultsdbResultNew,
    summary: 'A new test result about a compose or build: input to the gating of its promotion.',
    origin: 'inbound',
  },
  'coreos.build.request.ostree-sign': {
    schema: OstreeSignRequest,
    summary: "A request to sign an OSTree commit, with a request_id (Fedora CoreOS's shape): relengd publishes it for a stream signed by request-reply.",
    origin: 'inbound',
  },
  'coreos.build.request.ostree-sign.finished': {
    schema: OstreeSignFinished,
    summary: "The signer's reply to an ostree-sign request (status SUCCESS or FAILURE): relengd then checks the signature itself; counts only from configured publishers.",
    origin: 'inbound',
  },
  'coreos.build.request.artifacts-sign': {
    schema: ArtifactsSignRequest,
    summary: "A request to sign files (images) with detached signatures, in Fedora CoreOS's shape: relengd publishes it for each digest of a signed group's container image (file docker://repo@digest, with the docker-reference the signature binds it to).",
    origin: 'inbound',
  },
  'coreos.build.request.artifacts-sign.finished': {
    schema: ArtifactsSignFinished,
    summary: "The signer's reply to an artifacts-sign request: relengd then checks the image's signature itself; counts only from configured publishers.",
    origin: 'inbound',
  },
} as const satisfies Record<string, TopicSpec>;
