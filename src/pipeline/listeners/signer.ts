import { tagReference, type Config, type SignConfig, type StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import { emittedEventId } from '../../events/ids.ts';
import { replySucceeded, type ArtifactsSignFinished, type ArtifactsSignRequest, type OstreeSignFinished, type OstreeSignRequest } from '../../events/inbound/sign.ts';
import type { ImageIndexFinished } from '../../events/relengd/image.ts';
import type { PungiComposeOstree } from '../../events/inbound/pungi.ts';
import { subjectOf, type ReleaseAwaitingSignature, type SignRefused, type SignRequested, type SignSubject, type SignTimedOut, type SignVerified } from '../../events/relengd/sign.ts';
import type { SignVerification, SignVerifyJobSpec, SignWaitJobSpec, SignWatchJobSpec } from '../../jobs/executors/sign-specs.ts';
import { nothing, type Decision, type Emit, type Listener, type ListenerContext } from '../listener.ts';
import { imageAccess, ociArtifact } from '../images.ts';
import { keep, readSignature, saveImageList, saveSignature, SIGN_REQUESTS, type GaveUp, type ImageListRecord, type SignatureRecord } from './sign-state.ts';
import { composeRepo, streamById, streamsOfGroup } from './streams.ts';

export const SIGNER = 'signer';

/**
 * How often a commit is checked for a late signature once the retry policy gave up: slow, as
 * nothing is asked any more (robosignatory signs without a reply; this is how its late work counts).
 */
export const WATCH_EVERY_MINUTES = 15;

const DAY_MS = 86_400_000;

/**
 * Signing as a request and its reply (a saga), for streams with `sign`. Decides only: each new
 * commit (a candidate's, or one a promotion wrote on a release ref) gets a request
 * (`relengd.sign.requested`); each request goes on the wire in the signer's protocol and gets a job
 * that waits for the signature (and sends the request again, or times out); a timeout asks again
 * under a new request id while the retry policy allows, and so does the signer's FAILURE reply to
 * the request in play; once the policy gives up, a job watches the commit for a late signature at a
 * slow cadence. A reply from the signer gets a job that checks the signature, a late one too. Only
 * `relengd.sign.verified`, which the jobs emit after
 * `ostree` verified the signature against the configured keyring, makes a commit signed.
 */
export const signer: Listener = {
  name: SIGNER,
  topics: [
    'relengd.ostree.compose.finished',
    'relengd.compose.finished',
    'relengd.release.awaiting-signature',
    'relengd.sign.requested',
    'relengd.sign.timed-out',
    'relengd.sign.verified',
    'relengd.sign.refused',
    'coreos.build.request.ostree-sign.finished',
    'relengd.image.index.finished',
    'coreos.build.request.artifacts-sign.finished',
  ],
  handle(event: Envelope, context: ListenerContext): Decision {
    switch (event.topic) {
      case 'relengd.ostree.compose.finished':
      case 'relengd.compose.finished':
        return onCommit(event, context);
      case 'relengd.release.awaiting-signature':
        return onReleaseCommits(event, context);
      case 'relengd.sign.requested':
        return onRequested(event, context);
      case 'relengd.sign.timed-out':
        return onTimedOut(event, context);
      case 'relengd.sign.verified':
        return onVerified(event, context);
      case 'relengd.sign.refused': {
        const refused = event.data as SignRefused;
        const record = readSignature(context.state, refused.commit);
        if (!record) return nothing();
        const refusal = { requestId: refused.requestId, reason: refused.reason, detail: refused.detail, at: event.time, eventId: event.id };
        return { ...nothing(), patches: [saveSignature({ ...record, refusals: keep(record.refusals, refusal) })] };
      }
      case 'coreos.build.request.ostree-sign.finished':
      case 'coreos.build.request.artifacts-sign.finished':
        return onReply(event, context);
      case 'relengd.image.index.finished':
        return onImageList(event, context);
      default:
        return nothing();
    }
  },
};

/** A new commit of a signed stream (relengd's compose, or Pungi's): ask for its signature, once per commit. */
function onCommit(event: Envelope, { config, state }: ListenerContext): Decision {
  const done = event.data as { stream: string; ref: string; commit: string | null; version: string | null; composeId: string };
  const stream = streamById(config, done.stream);
  if (!stream?.sign || !done.commit || readSignature(state, done.commit)) return nothing();
  const subject: SignSubject = {
    commit: done.commit,
    repo: composeRepo(stream),
    ref: done.ref,
    stream: stream.id,
    group: stream.group,
    arch: stream.arch,
    version: done.version ?? done.composeId,
    composeId: done.composeId,
    purpose: 'candidate',
  };
  return request(event, stream.sign, subject, 1, undefined);
}

/** A promotion wrote release commits that are not signed: have each signed (one already being signed is not asked again). */
function onReleaseCommits(event: Envelope, { config, state }: ListenerContext): Decision {
  const awaiting = event.data as ReleaseAwaitingSignature;
  const decision = nothing();
  for (const subject of awaiting.commits) {
    const sign = streamById(config, subject.stream)?.sign;
    const record = readSignature(state, subject.commit);
    if (!sign) continue;
    if (record && record.state !== 'timed-out') {
      if (!record.purposes.includes(subject.purpose)) decision.patches.push(saveSignature({ ...record, purposes: [...record.purposes, subject.purpose] }));
      continue;
    }
    // Never asked, or asked until the retry policy gave up: a promotion waiting on it asks again.
    const next = request(event, sign, subject, (record?.request?.attempt ?? 0) + 1, record);
    decision.emit.push(...next.emit);
    decision.patches.push(...next.patches);
  }
  return decision;
}

/** A request under a new id (attempt `attempt`): its own event, which puts it on the wire and gets it a waiting job. */
function request(event: Envelope, sign: SignConfig, subject: SignSubject, attempt: number, record: SignatureRecord | undefined): Decision {
  const key = `request:${subject.commit}:${attempt}`;
  // The request id is the id of the request's own event: unique, and the same however often this event is processed.
  const requestId = emittedEventId(event.id, SIGNER, key);
  // A promotion asking again after the policy gave up gets this one attempt more.
  const data: SignRequested = { ...subject, requestId, protocol: sign.protocol, attempt, attempts: Math.max(attempt, sign.retries + 1), resend: 0, deadline: null };
  const base: SignatureRecord = record ?? { subject, state: 'requested', purposes: [], request: null, verified: null, timeouts: [], replies: [], refusals: [] };
  const purposes = base.purposes.includes(subject.purpose) ? base.purposes : [...base.purposes, subject.purpose];
  // The new request is the one in play from now on (before its event is handled): a second FAILURE or
  // a timeout of the attempt it replaces ends nothing more. Asked again: no longer given up (its watch ends).
  const inPlay = { requestId, attempt, attempts: data.attempts, sent: 0, at: event.time, eventId: requestId };
  return { emit: [{ topic: 'relengd.sign.requested', key, subject: subject.ref, data }], jobs: [], patches: [saveSignature({ ...base, state: 'requested', purposes, request: inPlay, gaveUp: undefined })] };
}

/** A request was made or is to be sent again: put it on the wire, and have a job wait for its signature. */
function onRequested(event: Envelope, { config, state }: ListenerContext): Decision {
  const requested = event.data as SignRequested;
  const stream = streamById(config, requested.stream);
  const record = readSignature(state, requested.commit);
  // Signed meanwhile (a resend racing the signature), or no longer signed by the configuration: nothing more to ask.
  if (!stream?.sign || !record || record.state === 'verified') return nothing();
  // A resend by the wait of an attempt that ended meanwhile (the signer refused it): it is not sent.
  if (requested.resend > 0 && (record.state !== 'requested' || record.request?.requestId !== requested.requestId)) return nothing();
  const sign = stream.sign;
  const first = requested.resend === 0 || record.request?.requestId !== requested.requestId;
  const updated: SignatureRecord = {
    ...record,
    state: 'requested',
    request: {
      requestId: requested.requestId,
      attempt: requested.attempt,
      attempts: requested.attempts,
      sent: requested.resend + 1,
      at: first ? event.time : record.request!.at,
      eventId: first ? event.id : record.request!.eventId,
    },
  };
  const spec: SignWaitJobSpec = {
    request: requested,
    verification: verificationOf(sign),
    timeoutMinutes: sign.timeoutMinutes,
    ...(sign.resendMinutes === undefined ? {} : { resendMinutes: sign.resendMinutes }),
  };
  return {
    emit: [wireRequest(requested, stream)],
    jobs: [{ kind: 'sign-wait', key: 'wait', queueKey: `sign-wait:${requested.commit}`, spec }],
    patches: [saveSignature(updated), { namespace: SIGN_REQUESTS, key: requested.requestId, value: requested.commit }],
  };
}

/** The request as the signer reads it: Fedora CoreOS's ostree-sign request, or Pungi's announcement of the commit. */
function wireRequest(requested: SignRequested, stream: StreamConfig): Emit {
  const key = `wire:${requested.resend}`;
  // An image is asked for as Fedora CoreOS asks for its artifacts: Pungi announces no images.
  if (requested.image) {
    const data: ArtifactsSignRequest = {
      request_id: requested.requestId,
      build_id: requested.version,
      basearch: requested.arch,
      artifacts: [{ file: `docker://${requested.image.repository}@${requested.image.digest}`, checksum: requested.image.digest, 'docker-reference': requested.image.identity }],
    };
    return { topic: 'coreos.build.request.artifacts-sign', key, subject: requested.ref, data };
  }
  if (requested.protocol === 'request-reply') {
    const data: OstreeSignRequest = {
      request_id: requested.requestId,
      build_id: requested.version,
      basearch: requested.arch,
      commit_object: commitObjectUrl(requested.repo, requested.commit),
      // A commit's checksum is the SHA-256 of its commit object.
      checksum: `sha256:${requested.commit}`,
    };
    return { topic: 'coreos.build.request.ostree-sign', key, subject: requested.ref, data };
  }
  const data: PungiComposeOstree = {
    ref: requested.ref,
    commitid: requested.commit,
    arch: requested.arch,
    variant: stream.triggers.pungi?.variant ?? stream.group,
    compose_id: requested.composeId,
    local_repo_path: requested.repo,
  };
  return { topic: 'pungi.compose.ostree', key, subject: requested.ref, data };
}

/** `file:///srv/ostree/26/objects/ab/cdef….commit`: where the commit object the signature covers is. */
export function commitObjectUrl(repo: string, commit: string): string {
  const path = repo.replace(/\/+$/, '').split('/').map(encodeURIComponent).join('/');
  return `file://${path}/objects/${commit.slice(0, 2)}/${commit.slice(2)}.commit`;
}

function verificationOf(sign: SignConfig): SignVerification {
  return { keyring: sign.keyring, keyIds: [...sign.keyIds] };
}

/** An attempt timed out: ask again under a new request id while the policy allows, else stop asking (a late reply still counts). */
function onTimedOut(event: Envelope, { config, state }: ListenerContext): Decision {
  const timedOut = event.data as SignTimedOut;
  const record = readSignature(state, timedOut.commit);
  if (!record) return nothing();
  const timeout = { requestId: timedOut.requestId, attempt: timedOut.attempt, attempts: timedOut.attempts, reason: timedOut.reason, next: timedOut.next, at: event.time, eventId: event.id };
  const updated: SignatureRecord = { ...record, timeouts: keep(record.timeouts, timeout) };
  // Signed meanwhile, an older request than the one in play, or an attempt that ended already (the signer refused it): noted, nothing more.
  if (record.state !== 'requested' || record.request?.requestId !== timedOut.requestId) return { ...nothing(), patches: [saveSignature(updated)] };
  const sign = streamById(config, timedOut.stream)?.sign;
  if (timedOut.next === 'retry' && sign) return request(event, sign, record.subject, timedOut.attempt + 1, updated);
  if (!sign) return { ...nothing(), patches: [saveSignature({ ...updated, state: 'timed-out' })] };
  return giveUp(event, config, sign, updated, 'timed-out', timedOut.reason);
}

/**
 * The retry policy gives up: no more requests. A late reply still counts, and so does a signature
 * that appears without one: a job checks the commit every WATCH_EVERY_MINUTES, for as long as the
 * store keeps the signing's events (`retention.events` days), and ends sooner when the commit is
 * signed, asked for again, or its record is pruned (nothing needs it signed any more).
 */
function giveUp(event: Envelope, config: Config, sign: SignConfig, record: SignatureRecord, why: GaveUp['why'], detail: string): Decision {
  const request = record.request;
  const until = new Date(Date.parse(event.time) + config.retention.events * DAY_MS).toISOString();
  const watch = { everyMinutes: WATCH_EVERY_MINUTES, until };
  const gaveUp: GaveUp = { requestId: request?.requestId ?? '-', attempt: request?.attempt ?? 1, attempts: request?.attempts ?? 1, why, detail, at: event.time, eventId: event.id, watch };
  const spec: SignWatchJobSpec = { subject: subjectOf(record.subject), requestId: request?.requestId ?? null, verification: verificationOf(sign), ...watch };
  return {
    emit: [],
    jobs: [{ kind: 'sign-watch', key: 'watch', queueKey: `sign-watch:${record.subject.commit}`, spec }],
    patches: [saveSignature({ ...record, state: 'timed-out', gaveUp })],
  };
}

function onVerified(event: Envelope, { state }: ListenerContext): Decision {
  const verified = event.data as SignVerified;
  const record = readSignature(state, verified.commit);
  if (record?.state === 'verified') return nothing(); // the wait and a reply's check both found it
  const base: SignatureRecord = record ?? { subject: subjectOf(verified), state: 'verified', purposes: [verified.purpose], request: null, verified: null, timeouts: [], replies: [], refusals: [] };
  return { ...nothing(), patches: [saveSignature({ ...base, state: 'verified', verified: { keyId: verified.keyId, signer: verified.signer, by: verified.by, at: event.time, eventId: event.id } })] };
}

/**
 * The signer's reply to one of relengd's requests (matched by `request_id`; a reply naming another
 * commit is not about this request and is ignored). SUCCESS gets a job that checks the signature,
 * even after the request timed out. FAILURE is noted with the signer's reason; to the request in
 * play it ends that attempt at once: a new request while the retry policy allows, else the policy
 * gives up as after the last timeout. (The ended attempt's wait sees that its request is no longer
 * in play and ends; a timeout or resend of it that comes anyway is ignored.)
 */
function onReply(event: Envelope, { config, state }: ListenerContext): Decision {
  const reply = event.data as OstreeSignFinished | ArtifactsSignFinished;
  const commit = reply.request_id === undefined ? undefined : (state.get(SIGN_REQUESTS, reply.request_id) as string | undefined);
  const record = commit === undefined ? undefined : readSignature(state, commit);
  if (!record || !replyNames(reply, record.subject)) return nothing();
  const requestId = reply.request_id!;
  const failure = reply['failure-message'] ?? null;
  const updated: SignatureRecord = { ...record, replies: keep(record.replies, { requestId, status: reply.status, failure, at: event.time, eventId: event.id }) };
  const decision: Decision = { ...nothing(), patches: [saveSignature(updated)] };
  const sign = streamById(config, record.subject.stream)?.sign;
  if (record.state === 'verified' || !sign) return decision;
  if (replySucceeded(reply)) {
    const spec: SignVerifyJobSpec = { subject: record.subject, requestId, replyId: event.id, verification: verificationOf(sign) };
    decision.jobs.push({ kind: 'sign-verify', key: 'verify', queueKey: `sign-verify:${record.subject.commit}`, spec });
    return decision;
  }
  const detail = failure ?? `the signer replied ${reply.status}`;
  const data: SignRefused = { ...subjectOf(record.subject), requestId, reason: 'signer-failed', detail, replyId: event.id };
  const refused = (next?: SignRefused['next']): Emit => ({ topic: 'relengd.sign.refused', key: 'signer-failed', subject: record.subject.ref, data: { ...data, ...(next ? { next } : {}) } });
  const current = record.request;
  // An older request's FAILURE, or one after the policy gave up: noted, nothing ends.
  if (record.state !== 'requested' || current?.requestId !== requestId) return { ...decision, emit: [refused()] };
  if (current.attempt < current.attempts) {
    const next = request(event, sign, record.subject, current.attempt + 1, updated);
    return { ...next, emit: [refused('retry'), ...next.emit] };
  }
  const ended = giveUp(event, config, sign, updated, 'signer-failed', detail);
  return { ...ended, emit: [refused('wait-for-late-reply'), ...ended.emit] };
}

/** Whether a reply is about the subject: the same commit, or (artifacts-sign) an artifact with the image's digest. */
function replyNames(reply: OstreeSignFinished | ArtifactsSignFinished, subject: SignSubject): boolean {
  const checksum = `sha256:${subject.commit}`;
  if (subject.image) return 'artifacts' in reply && Array.isArray(reply.artifacts) && reply.artifacts.some((a) => a.checksum === checksum);
  return 'checksum' in reply && reply.checksum === checksum;
}

/**
 * A signed group's manifest list was pushed: the list's digest and every arch's image digest are
 * each signed, for the identity the release tag gives them (`repository:releaseTag`), before the
 * tag may move to it. Recorded per group version and image for the "signed" gate (./sign-gate.ts).
 * An image whose digest is asked for already (the same arch image in a new list) is not asked again.
 */
function onImageList(event: Envelope, { config, state }: ListenerContext): Decision {
  const list = event.data as ImageIndexFinished;
  const streams = streamsOfGroup(config, list.group);
  const signed = streams.find((s) => s.sign);
  const sign = signed?.sign;
  const artifact = signed && ociArtifact(signed, list.name);
  if (!signed || !sign?.signatures || !artifact?.oci.releaseTag || artifact.oci.repository !== list.repository) return nothing();
  const image = { ...imageAccess(artifact.oci), identity: tagReference(list.repository, artifact.oci.releaseTag), name: list.name, signatures: sign.signatures };
  const record: ImageListRecord = { digest: list.digest, manifests: list.manifests.map(({ arch, digest }) => ({ arch, digest })) };
  const decision: Decision = { ...nothing(), patches: [saveImageList(list.group, list.version, list.name, record)] };
  for (const { arch, digest } of [{ arch: 'multi', digest: list.digest }, ...record.manifests]) {
    const commit = digest.slice('sha256:'.length);
    if (readSignature(state, commit)) continue;
    const stream = streams.find((s) => s.arch === arch) ?? signed;
    const subject: SignSubject = { commit, repo: list.repository, ref: image.identity, stream: stream.id, group: list.group, arch, version: list.version, composeId: list.version, purpose: 'candidate', image: { ...image, digest } };
    const next = request(event, sign, subject, 1, undefined);
    decision.emit.push(...next.emit);
    decision.patches.push(...next.patches);
  }
  return decision;
}
