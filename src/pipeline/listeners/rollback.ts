import type { StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import { jobId } from '../../events/ids.ts';
import type { PlannedImageTag, ReleasePromoted } from '../../events/relengd/release.ts';
import type { ReleaseRolledBack, RollbackRefusalReason, RollbackRefused, RollbackRequested } from '../../events/relengd/rollback.ts';
import type { ReleaseAwaitingSignature, SignVerified } from '../../events/relengd/sign.ts';
import type { RollbackJobSpec } from '../../jobs/specs.ts';
import { imageReleasesOf } from '../images.ts';
import { nothing, type Decision, type Listener, type ListenerContext, type StateView } from '../listener.ts';
import { loadHistory, RELEASES_KEPT, saveHistory, tagsAfter, type ReleaseHistory, type ReleaseRecord } from './release-history.ts';
import { PROMOTION, publicationOf, type Candidate } from './promoter.ts';
import { signingSpec } from './sign-gate.ts';
import { isSigned } from './sign-state.ts';
import { streamsOfGroup } from './streams.ts';

/**
 * Keeps each group's release history (what the release refs hold, what was promoted, what was
 * rolled back) and turns an operator's rollback command (already authorised at intake) into a
 * `rollback` job: back to the version named, to the version a commit was released as, or to the
 * previous promoted version. The job moves the refs (and the release tags of container images, back
 * to the digests the earlier version released); a refusal here says why nothing will move. For a
 * signed group the job first writes the rollback commits and waits for their signatures
 * (`relengd.release.awaiting-signature`); once all are verified, it runs again with that plan.
 */
export const rollback: Listener = {
  name: 'rollback',
  topics: ['relengd.release.promoted', 'relengd.release.rollback.requested', 'relengd.release.rolled-back', 'relengd.release.rollback.refused', 'relengd.release.awaiting-signature', 'relengd.sign.verified'],
  handle(event: Envelope, context: ListenerContext): Decision {
    switch (event.topic) {
      case 'relengd.release.promoted':
        return onPromoted(event, context.state);
      case 'relengd.release.rollback.requested':
        return onRequest(event, context);
      case 'relengd.release.rolled-back': {
        const done = event.data as ReleaseRolledBack;
        const history = loadHistory(context.state, done.group);
        const images = tagsAfter(history.current?.images, done.images);
        const updated: ReleaseHistory = {
          ...history,
          current: { version: done.toVersion, refs: done.refs.map((r) => ({ arch: r.arch, ref: r.ref, commit: r.to })), ...(images ? { images } : {}) },
          rolledBack: { ...history.rolledBack, [done.fromVersion]: { by: done.requestedBy, at: event.time, eventId: event.id } },
          rollingBack: null,
        };
        return { ...nothing(), patches: [saveHistory(updated)] };
      }
      case 'relengd.release.rollback.refused': {
        const refused = event.data as RollbackRefused;
        const history = loadHistory(context.state, refused.group);
        if (!refused.jobId || history.rollingBack?.jobId !== refused.jobId) return nothing();
        return { ...nothing(), patches: [saveHistory({ ...history, rollingBack: null })] };
      }
      case 'relengd.release.awaiting-signature':
        return onAwaitingSignature(event, context);
      case 'relengd.sign.verified': {
        // The signer listener (dispatched before this one) has recorded the signature already.
        const verified = event.data as SignVerified;
        const history = loadHistory(context.state, verified.group);
        if (!history.rollingBack?.signing?.commits.includes(verified.commit)) return nothing();
        return resumeSigned(event, context.state, history);
      }
      default:
        return nothing();
    }
  },
};

function onPromoted(event: Envelope, state: StateView): Decision {
  const promoted = event.data as ReleasePromoted;
  const history = loadHistory(state, promoted.group);
  if (history.promotions.some((p) => p.eventId === event.id)) return nothing();
  const record: ReleaseRecord = {
    version: promoted.version,
    at: event.time,
    eventId: event.id,
    refs: promoted.refs.map((r) => ({ arch: r.arch, ref: r.ref, commit: r.to })),
    artifacts: promoted.artifacts,
    ...(promoted.images ? { images: promoted.images } : {}),
  };
  const images = tagsAfter(history.current?.images, promoted.images);
  // A version promoted again (an operator's forced promotion) is released again: no longer rolled back.
  const { [promoted.version]: _released, ...rolledBack } = history.rolledBack;
  const updated: ReleaseHistory = {
    ...history,
    promotions: [...history.promotions, record].slice(-RELEASES_KEPT),
    current: { version: record.version, refs: record.refs, ...(images ? { images } : {}) },
    rolledBack,
  };
  return { ...nothing(), patches: [saveHistory(updated)] };
}

function onRequest(event: Envelope, { config, state }: ListenerContext): Decision {
  const request = event.data as RollbackRequested;
  // Who asked is who the transport authenticated (src/trust.ts lets only allowed identities send this), never the body.
  const requestedBy = event.publisher ?? null;
  const history = loadHistory(state, request.group);
  const fromVersion = history.current?.version ?? null;
  const refuse = (reason: RollbackRefusalReason, detail: string, toVersion: string | null = null): Decision => {
    const data: RollbackRefused = { group: request.group, fromVersion, toVersion, reason, detail, requestedBy };
    return { ...nothing(), emit: [{ topic: 'relengd.release.rollback.refused', key: `refused:${reason}`, subject: request.group, data }] };
  };

  const streams = streamsOfGroup(config, request.group).filter((s) => s.promote);
  if (streams.length === 0) return refuse('arch-missing', `no promotable stream in group ${request.group}`);
  if (history.rollingBack) {
    const waiting = history.rollingBack.signing ? `; its rollback commits wait for their signatures (${history.rollingBack.signing.commits.join(', ')}), no ref moved yet` : '';
    return refuse('rollback-running', `a rollback of ${request.group} to ${history.rollingBack.toVersion} is running (job ${history.rollingBack.jobId})${waiting}; wait for its outcome`);
  }
  const current = history.current;
  if (!current) return refuse('nothing-to-roll-back', `no promotion of ${request.group} is recorded`);

  const target = targetOf(request, history, state);
  if ('reason' in target) return refuse(target.reason, target.detail);
  if (target.version === current.version) return refuse('already-current', `the release refs of ${request.group} hold ${current.version} already`, target.version);
  const earlier = history.rolledBack[target.version];
  if (earlier) {
    return refuse('rolled-back', `${target.version} was itself rolled back (by ${earlier.by ?? 'an unauthenticated sender'} at ${earlier.at}); to release it again: relengd promote --group ${request.group} --version ${target.version} --force`, target.version);
  }

  const targets: RollbackJobSpec['targets'] = [];
  for (const stream of streams) {
    const ref = stream.promote!.ref;
    const from = current.refs.find((r) => r.arch === stream.arch && r.ref === ref);
    const to = target.refs.find((r) => r.arch === stream.arch && r.ref === ref);
    if (!from || !to) return refuse('arch-missing', `${stream.arch}: ${from ? target.version : current.version} has no recorded release on ${ref}`, target.version);
    targets.push({ arch: stream.arch, stream: stream.id, repo: stream.ostree.repo, ref, expected: from.commit, commit: to.commit, artifacts: artifactsOf(target, stream) });
  }
  const images = tagsBack(streams, current, target);
  const spec: RollbackJobSpec = {
    group: request.group,
    fromVersion: current.version,
    toVersion: target.version,
    requestedBy,
    ...(request.comment !== undefined ? { comment: request.comment } : {}),
    targets,
    ...signingSpec(streams),
    ...(images.length > 0 ? { images } : {}),
    ...publicationOf(streams[0]!.promote!),
  };
  const rollbackJobId = jobId(event.id, 'rollback', 'rollback');
  return {
    ...nothing(),
    // The promotion queue of the group: a rollback and a promotion never move its refs at once.
    jobs: [{ kind: 'rollback', key: 'rollback', queueKey: `promote:${request.group}`, spec }],
    patches: [saveHistory({ ...history, rollingBack: { jobId: rollbackJobId, toVersion: target.version, ...(spec.sign ? { spec } : {}) } })],
  };
}

/**
 * The release tags going back with the refs: each image the group releases whose tag relengd last
 * moved (`current`) and that the earlier version released, from where relengd put it to the digest
 * that version released. A tag relengd never moved, or one the earlier version did not release, stays.
 */
function tagsBack(streams: StreamConfig[], current: NonNullable<ReleaseHistory['current']>, target: ReleaseRecord): PlannedImageTag[] {
  const tags: PlannedImageTag[] = [];
  for (const { releaseTag, ...image } of imageReleasesOf(streams, target.version).images ?? []) {
    const same = (i: { repository: string; tag: string }): boolean => i.repository === image.repository && i.tag === releaseTag;
    const now = current.images?.find(same);
    const back = target.images?.find(same);
    if (now && back) tags.push({ ...image, tag: releaseTag, from: now.to, to: back.to });
  }
  return tags;
}

/** The rollback job wrote rollback commits that are not signed yet: remember its plan, and resume at once if they are signed by now. */
function onAwaitingSignature(event: Envelope, { state }: ListenerContext): Decision {
  const awaiting = event.data as ReleaseAwaitingSignature;
  const history = loadHistory(state, awaiting.group);
  const rolling = history.rollingBack;
  // A promotion's (the promoter's), or not the rollback in flight.
  if (!rolling || rolling.jobId !== awaiting.jobId) return nothing();
  const waiting: ReleaseHistory = { ...history, rollingBack: { ...rolling, signing: { jobId: awaiting.jobId, plan: awaiting.plan, commits: awaiting.commits.map((c) => c.commit) } } };
  const resumed = resumeSigned(event, state, waiting);
  return resumed.jobs.length > 0 ? resumed : { ...nothing(), patches: [saveHistory(waiting)] };
}

/** Runs the rollback again, with the plan of its first run, once every rollback commit it waits on is signed. */
function resumeSigned(event: Envelope, state: StateView, history: ReleaseHistory): Decision {
  const rolling = history.rollingBack;
  const signing = rolling?.signing;
  if (!rolling?.spec || !signing || !signing.commits.every((commit) => isSigned(state, commit))) return nothing();
  const spec: RollbackJobSpec = { ...rolling.spec, plan: signing.plan.map(({ ref, from, to }) => ({ ref, from, to })) };
  const resumedJobId = jobId(event.id, 'rollback', 'signed');
  return {
    ...nothing(),
    jobs: [{ kind: 'rollback', key: 'signed', queueKey: `promote:${history.group}`, spec }],
    patches: [saveHistory({ ...history, rollingBack: { jobId: resumedJobId, toVersion: rolling.toVersion, spec: rolling.spec } })],
  };
}

type Resolved = ReleaseRecord | { reason: RollbackRefusalReason; detail: string };

/** The promotion to go back to: the version named, the version a commit was released as, or the one before the current. */
function targetOf(request: RollbackRequested, history: ReleaseHistory, state: StateView): Resolved {
  const newestFirst = [...history.promotions].reverse();
  const promotedVersions = [...new Set(newestFirst.map((p) => p.version))].join(', ');
  if (request.toVersion !== undefined) {
    const found = newestFirst.find((p) => p.version === request.toVersion);
    return found ?? { reason: 'unknown-version', detail: `${request.group} ${request.toVersion} was never promoted (promoted: ${promotedVersions})` };
  }
  if (request.toCommit !== undefined) {
    const prefix = request.toCommit;
    const matches = newestFirst.filter((p) => commitsOf(p, request.group, state).some((c) => c.startsWith(prefix)));
    const versions = [...new Set(matches.map((p) => p.version))];
    if (versions.length === 0) return { reason: 'unknown-version', detail: `no promoted version of ${request.group} has a commit ${prefix} (promoted: ${promotedVersions})` };
    if (versions.length > 1) return { reason: 'unknown-version', detail: `${prefix} names commits of ${versions.join(', ')}: give more of the checksum` };
    return matches[0]!;
  }
  const current = history.current!;
  const currentAt = history.promotions.findLastIndex((p) => p.version === current.version);
  const before = history.promotions.slice(0, currentAt === -1 ? history.promotions.length : currentAt).reverse();
  const previous = before.find((p) => p.version !== current.version && !Object.hasOwn(history.rolledBack, p.version));
  return previous ?? { reason: 'nothing-to-roll-back', detail: `no promoted version of ${request.group} before ${current.version} to go back to (promoted: ${promotedVersions})` };
}

/** A promotion's commits: each release commit, and the candidate's composed commits (what `ostree log` of the updates ref shows). */
function commitsOf(record: ReleaseRecord, group: string, state: StateView): string[] {
  const candidate = state.get(PROMOTION, `${group}/${record.version}`) as Candidate | undefined;
  const composed = Object.values(candidate?.composes ?? {}).flatMap((c) => (c.commit ? [c.commit] : []));
  return [...record.refs.map((r) => r.commit), ...composed];
}

function artifactsOf(record: ReleaseRecord, stream: StreamConfig): RollbackJobSpec['targets'][number]['artifacts'] {
  return record.artifacts.filter((a) => a.arch === stream.arch).map(({ arch: _arch, ...artifact }) => artifact);
}
