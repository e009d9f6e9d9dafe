import type { GateConfig, PromoteConfig, StreamConfig } from '../../config/index.ts';
import type { Envelope } from '../../events/envelope.ts';
import { jobId } from '../../events/ids.ts';
import { decisionSubject, policiesSatisfied, type GreenwaveDecisionUpdate } from '../../events/inbound/greenwave.ts';
import { resultComposeId, resultItem, resultOutcome, resultTestcase, type ResultsdbResultNew } from '../../events/inbound/resultsdb.ts';
import type { ArtifactSummary } from '../../events/relengd/artifact.ts';
import type { ComposeFinished, PromoteRequested, PromotionRefused, ReleaseApprove, ReleasePromoted } from '../../events/relengd/release.ts';
import type { ReleaseRolledBack } from '../../events/relengd/rollback.ts';
import type { ReleaseAwaitingSignature, SignVerified } from '../../events/relengd/sign.ts';
import type { PromoteJobSpec } from '../../jobs/specs.ts';
import { imageReleasesOf } from '../images.ts';
import { nothing, type Decision, type Listener, type ListenerContext, type StateView } from '../listener.ts';
import { STREAM_HEAD, type StreamHead } from './composer.ts';
import { rolledBackRelease } from './release-history.ts';
import { signedLabels, signingSpec, unsignedArches, unsignedDetail, unsignedImages } from './sign-gate.ts';
import { isSigned } from './sign-state.ts';
import { groupLabel, streamsOfGroup } from './streams.ts';

export const PROMOTION = 'promotion';
export const PROMOTION_SUBJECT = 'promotion-subject';
export const GATING = 'gating';

/** One release candidate: a group at one version, its arches' composes and where it stands. */
export interface Candidate {
  group: string;
  version: string;
  composes: Record<string, { composeId: string; stream: string; ref: string; commit: string | null; status: ComposeFinished['status']; artifacts: ArtifactSummary[] }>;
  approval: { by: string | null; eventId: string } | null;
  /** `rolled-back`: promoted, then taken off the release refs; never promoted again automatically. */
  phase: 'open' | 'promoting' | 'promoted' | 'refused' | 'rolled-back';
  jobId?: string;
  /** How the promotion in progress was asked for; one resumed once its release commits are signed is asked for alike. */
  how?: PromotionHow;
  /** The promotion wrote its release commits and waits for their signatures (`relengd.release.awaiting-signature`): no ref moved yet. `images`: the release tags as it planned them. */
  releaseSigning?: { jobId: string; plan: ReleaseAwaitingSignature['plan']; commits: string[]; images?: ReleaseAwaitingSignature['images'] };
}

/** How a promotion was asked for: by the gates (`gated`), an operator (`manual`), or resumed after signing (`signed`). */
interface PromotionHow {
  force: boolean;
  requestedBy: string | null;
  key: string;
  gates?: string[] | undefined;
}

/** What the gating systems said about one subject (a commit, a compose id, a group label). */
export interface Gating {
  /** Greenwave's latest verdict by decision context, whatever the subject type. */
  greenwave: Record<string, boolean>;
  /** The same by subject type (`compose`, ...), then context: what a gate with `subjectType` reads. Absent in state written before it existed. */
  greenwaveByType?: Record<string, Record<string, boolean>>;
  results: Record<string, string>;
}

const PASSING = new Set(['PASSED', 'INFO']);
const FAILING = new Set(['FAILED']);

const candidateKey = (group: string, version: string): string => `${group}/${version}`;

/**
 * Promotes a stream group when, for one version, every arch finished with an accepted status and
 * every configured gate holds (Greenwave decision, ResultsDB outcomes, approval) with none failed,
 * and, for a signed group (`streams[].sign`), every arch's commit carries a verified signature.
 * A promotion whose release commits are new and unsigned resumes once they are signed.
 * The move itself is a job; a refusal is an event with its reason. A version that was rolled back
 * is never promoted again automatically; an operator's forced request still may.
 */
export const promoter: Listener = {
  name: 'promoter',
  topics: [
    'relengd.compose.finished',
    'greenwave.decision.update',
    'resultsdb.result.new',
    'relengd.release.approve',
    'relengd.release.promote.requested',
    'relengd.release.promoted',
    'relengd.release.promotion.refused',
    'relengd.release.rolled-back',
    'relengd.sign.verified',
    'relengd.release.awaiting-signature',
  ],
  handle(event: Envelope, context: ListenerContext): Decision {
    switch (event.topic) {
      case 'relengd.sign.verified':
        return onSigned(event, context);
      case 'relengd.release.awaiting-signature':
        return onAwaitingSignature(event, context);
      case 'relengd.compose.finished':
        return onComposeFinished(event, context);
      case 'greenwave.decision.update': {
        const body = event.data as GreenwaveDecisionUpdate;
        const { identifier: subject, type } = decisionSubject(body) ?? {};
        const ctx = body.decision_context;
        if (!subject || !ctx) return nothing();
        const satisfied = policiesSatisfied(body);
        const record = (g: Gating): Gating => ({
          ...g,
          greenwave: { ...g.greenwave, [ctx]: satisfied },
          ...(type === undefined ? {} : { greenwaveByType: { ...g.greenwaveByType, [type]: { ...g.greenwaveByType?.[type], [ctx]: satisfied } } }),
        });
        // A failing decision that no gate of its context reads (each asks for another subject type) refuses nothing.
        const ignoredBy = (gates: readonly GateConfig[]) => {
          const ofContext = gates.flatMap((g) => ('greenwave' in g && g.greenwave.decisionContext === ctx ? [g.greenwave] : []));
          return ofContext.length > 0 && ofContext.every((g) => g.subjectType !== undefined && g.subjectType !== type);
        };
        return onGating(event, context, subject, record, satisfied ? null : `Greenwave ${ctx}: policies not satisfied for ${type ?? 'subject'} ${subject}`, ignoredBy);
      }
      case 'resultsdb.result.new': {
        const body = event.data as ResultsdbResultNew;
        const subject = resultComposeId(body) ?? resultItem(body);
        if (!subject) return nothing();
        const testcase = resultTestcase(body);
        const outcome = resultOutcome(body);
        return onGating(event, context, subject, (g) => ({ ...g, results: { ...g.results, [testcase]: outcome } }), FAILING.has(outcome) ? `ResultsDB ${testcase}: ${outcome} for ${subject}` : null);
      }
      case 'relengd.release.approve': {
        const approve = event.data as ReleaseApprove;
        const candidate = load(context.state, approve.group, approve.version);
        const updated: Candidate = { ...candidate, approval: { by: event.publisher ?? null, eventId: event.id } };
        return evaluate(event, context, updated);
      }
      case 'relengd.release.promote.requested':
        return onManualRequest(event, context);
      case 'relengd.release.promoted':
      case 'relengd.release.promotion.refused': {
        const result = event.data as ReleasePromoted | PromotionRefused;
        if (!result.jobId) return nothing(); // the promoter's own refusals
        const candidate = load(context.state, result.group, result.version);
        if (candidate.jobId !== result.jobId) return nothing();
        const phase = event.topic === 'relengd.release.promoted' ? 'promoted' : 'refused';
        return { ...nothing(), patches: [save({ ...candidate, phase })] };
      }
      case 'relengd.release.rolled-back': {
        const done = event.data as ReleaseRolledBack;
        return { ...nothing(), patches: [save({ ...load(context.state, done.group, done.fromVersion), phase: 'rolled-back' })] };
      }
      default:
        return nothing();
    }
  },
};

function onComposeFinished(event: Envelope, context: ListenerContext): Decision {
  const done = event.data as ComposeFinished;
  const stream = context.config.streams.find((s) => s.id === done.stream);
  if (!stream?.promote || !done.version) return nothing();
  const candidate = load(context.state, done.group, done.version);
  if (candidate.phase !== 'open') return nothing();
  const updated: Candidate = {
    ...candidate,
    composes: { ...candidate.composes, [done.arch]: { composeId: done.composeId, stream: done.stream, ref: done.ref, commit: done.commit, status: done.status, artifacts: done.artifacts } },
  };
  const key = candidateKey(done.group, done.version);
  const index = [done.commit, done.composeId, groupLabel(done.group, done.version)].flatMap((subject) => (subject ? [{ namespace: PROMOTION_SUBJECT, key: subject, value: key }] : []));
  const decision = evaluate(event, context, updated);
  decision.patches.push(...index);
  if (!stream.promote.accept.includes(done.status as 'FINISHED')) {
    decision.emit.push(refusal(done.group, done.version, 'status-not-accepted', `${done.arch} compose ${done.composeId} is ${done.status}; accepted: ${stream.promote.accept.join(', ')}`));
  }
  return decision;
}

function onGating(event: Envelope, context: ListenerContext, subject: string, update: (g: Gating) => Gating, failure: string | null, ignoredBy?: (gates: readonly GateConfig[]) => boolean): Decision {
  const gating = (context.state.get(GATING, subject) as Gating | undefined) ?? { greenwave: {}, results: {} };
  const patch = { namespace: GATING, key: subject, value: update(gating) };
  const key = context.state.get(PROMOTION_SUBJECT, subject) as string | undefined;
  if (!key) return { ...nothing(), patches: [patch] }; // kept: the compose may be announced later
  const [group, ...rest] = key.split('/');
  const candidate = load(context.state, group!, rest.join('/'));
  const decision = evaluate(event, context, candidate, { [subject]: patch.value });
  decision.patches.unshift(patch);
  const gates = streamsOfGroup(context.config, candidate.group).find((s) => s.promote)?.promote?.gates ?? [];
  if (failure && candidate.phase === 'open' && !ignoredBy?.(gates)) decision.emit.push(refusal(candidate.group, candidate.version, 'gate-failed', failure));
  return decision;
}

function onManualRequest(event: Envelope, context: ListenerContext): Decision {
  const request = event.data as PromoteRequested;
  const streams = streamsOfGroup(context.config, request.group).filter((s) => s.promote);
  const candidate = load(context.state, request.group, request.version);
  if (candidate.phase === 'promoting') {
    return { ...nothing(), emit: [refusal(request.group, request.version, 'promotion-failed', 'a promotion of this version is already running')] };
  }
  if (streams.length === 0) return { ...nothing(), emit: [refusal(request.group, request.version, 'arch-missing', `no promotable stream in group ${request.group}`)] };
  for (const stream of streams) {
    const compose = candidate.composes[stream.arch];
    if (!compose?.commit) {
      const head = context.state.get(STREAM_HEAD, stream.id) as StreamHead | undefined;
      const mismatch = head && head.version !== request.version;
      return {
        ...nothing(),
        emit: [refusal(request.group, request.version, mismatch ? 'version-mismatch' : 'arch-missing', mismatch ? `${stream.arch} is at ${head.version}, not ${request.version}` : `no finished compose of ${request.version} for ${stream.arch}`)],
      };
    }
    if (!stream.promote!.accept.includes(compose.status as 'FINISHED')) {
      return { ...nothing(), emit: [refusal(request.group, request.version, 'status-not-accepted', `${stream.arch} compose is ${compose.status}`)] };
    }
  }
  const rolledBack = rolledBackRelease(context.state, request.group, request.version);
  if (rolledBack && !request.force) {
    const detail = `${request.version} was rolled back (by ${rolledBack.by ?? 'an unauthenticated sender'} at ${rolledBack.at}); to release it again anyway: relengd promote --group ${request.group} --version ${request.version} --force`;
    return { ...nothing(), emit: [refusal(request.group, request.version, 'rolled-back', detail)] };
  }
  // An operator skips the gates, never the signature: nothing unsigned is released, forced or not.
  const unsigned = unsignedArches(context.state, streams.map((s) => ({ arch: s.arch, commit: candidate.composes[s.arch]!.commit! })), streams);
  const unsignedImage = unsignedImages(context.state, candidate, streams);
  if (unsigned.length > 0 || unsignedImage.length > 0) return { ...nothing(), emit: [refusal(request.group, request.version, 'unsigned', [...(unsigned.length > 0 ? [unsignedDetail(context.state, unsigned)] : []), ...unsignedImage].join('; '))] };
  // Who asked is who the transport authenticated (src/trust.ts lets only allowed identities send this), never the body.
  return promote(event, candidate, streams, { force: request.force ?? false, requestedBy: event.publisher ?? null, key: 'manual' });
}

/** Promotes when every arch is in, accepted, and every gate holds with none failed. */
function evaluate(event: Envelope, context: ListenerContext, candidate: Candidate, overrides: Record<string, Gating> = {}): Decision {
  const streams = streamsOfGroup(context.config, candidate.group).filter((s) => s.promote);
  const decision = { ...nothing(), patches: [save(candidate)] };
  if (candidate.phase !== 'open' || streams.length === 0) return decision;
  for (const stream of streams) {
    const compose = candidate.composes[stream.arch];
    if (!compose?.commit || !stream.promote!.accept.includes(compose.status as 'FINISHED')) return decision;
  }
  const gatingOf = (subject: string): Gating => overrides[subject] ?? ((context.state.get(GATING, subject) as Gating | undefined) ?? { greenwave: {}, results: {} });
  const gates = streams[0]!.promote!.gates;
  if (!gates.every((gate) => gateHolds(gate, candidate, streams, gatingOf))) return decision;
  // The "signed" gate (./sign-gate.ts): every arch's commit carries a verified signature.
  const commits = streams.map((s) => ({ arch: s.arch, commit: candidate.composes[s.arch]!.commit! }));
  if (unsignedArches(context.state, commits, streams).length > 0) return decision;
  // A released image's list and every arch's image are signed too.
  if (unsignedImages(context.state, candidate, streams).length > 0) return decision;
  // Taken off the release refs by an operator: the gates do not bring it back (a late gating message, a replay).
  if (rolledBackRelease(context.state, candidate.group, candidate.version)) return decision;
  const held = [...gateLabels(gates, candidate), ...signedLabels(context.state, commits.map((c) => c.commit), streams)];
  return promote(event, candidate, streams, { force: false, requestedBy: null, key: 'gated', gates: held });
}

function gateHolds(gate: GateConfig, candidate: Candidate, streams: StreamConfig[], gatingOf: (s: string) => Gating): boolean {
  if ('approval' in gate) return candidate.approval !== null;
  const label = groupLabel(candidate.group, candidate.version);
  // Each arch is covered by a verdict on its commit, its compose, or the whole group's label.
  return streams.every((stream) => {
    const compose = candidate.composes[stream.arch]!;
    const verdicts = [compose.commit!, compose.composeId, label].map(gatingOf);
    if ('greenwave' in gate) {
      const { decisionContext: ctx, subjectType } = gate.greenwave;
      const verdictOf = (v: Gating) => (subjectType === undefined ? v.greenwave[ctx] : v.greenwaveByType?.[subjectType]?.[ctx]);
      return verdicts.some((v) => verdictOf(v) === true) && !verdicts.some((v) => verdictOf(v) === false);
    }
    return gate.resultsdb.testcases.every(
      (tc) => verdicts.some((v) => PASSING.has(v.results[tc] ?? '')) && !verdicts.some((v) => FAILING.has(v.results[tc] ?? '')),
    );
  });
}

/** The gates that held, for the record: `greenwave atomic_two_week`, `resultsdb atomic.host.smoke`, `approval by releng`. */
function gateLabels(gates: readonly GateConfig[], candidate: Candidate): string[] {
  return gates.flatMap((gate) => {
    if ('approval' in gate) return [`approval by ${candidate.approval?.by ?? 'an unauthenticated sender'}`];
    if ('greenwave' in gate) return [`greenwave ${gate.greenwave.decisionContext}${gate.greenwave.subjectType ? ` (${gate.greenwave.subjectType})` : ''}`];
    return gate.resultsdb.testcases.map((testcase) => `resultsdb ${testcase}`);
  });
}

/** What a move of the group's release refs publishes afterwards, from the group's promote config. */
export function publicationOf(promoteConfig: PromoteConfig): Pick<PromoteJobSpec, 'summary' | 'deltas' | 'metadata' | 'baseUrl'> {
  return {
    summary: { gpgKey: promoteConfig.summary.gpgKey ?? null, gpgHome: promoteConfig.summary.gpgHome },
    deltas: promoteConfig.deltas,
    metadata: promoteConfig.metadata ?? null,
    baseUrl: promoteConfig.baseUrl ?? null,
  };
}

function promote(event: Envelope, candidate: Candidate, streams: StreamConfig[], how: PromotionHow & { plan?: ReleaseAwaitingSignature['plan']; imagePlan?: ReleaseAwaitingSignature['images'] }): Decision {
  const promoteConfig = streams[0]!.promote!;
  const promoteJobId = jobId(event.id, 'promoter', how.key);
  const spec: PromoteJobSpec = {
    group: candidate.group,
    version: candidate.version,
    force: how.force || !promoteConfig.fastForwardOnly,
    requestedBy: how.requestedBy,
    ...(how.gates ? { gates: how.gates } : {}),
    targets: streams.map((stream) => {
      const compose = candidate.composes[stream.arch]!;
      const from = stream.promote!.from;
      return {
        arch: stream.arch,
        stream: stream.id,
        repo: stream.ostree.repo,
        sourceRef: stream.ostree.ref,
        ref: stream.promote!.ref,
        commit: compose.commit!,
        composeId: compose.composeId,
        artifacts: compose.artifacts,
        ...(from ? { pullFrom: from.repo } : {}),
      };
    }),
    ...imageReleasesOf(streams, candidate.version),
    ...publicationOf(promoteConfig),
    ...signingSpec(streams),
    ...(how.plan ? { plan: how.plan.map(({ ref, from, to }) => ({ ref, from, to })) } : {}),
    // Resumed: the release tags move exactly as the first run planned them, or the promotion is refused (not planned again).
    ...(how.plan && how.imagePlan ? { imagePlan: how.imagePlan } : {}),
  };
  const { releaseSigning: _done, ...rest } = candidate;
  const promoting: Candidate = { ...rest, phase: 'promoting', jobId: promoteJobId, how: { force: how.force, requestedBy: how.requestedBy, key: how.key, ...(how.gates ? { gates: how.gates } : {}) } };
  return { ...nothing(), jobs: [{ kind: 'promote', key: how.key, queueKey: `promote:${candidate.group}`, spec }], patches: [save(promoting)] };
}

/**
 * A commit's signature was verified: the candidates it is a commit of are evaluated again (their
 * "signed" gate may hold now), and a promotion waiting on it as a release commit resumes once all
 * of its release commits are signed.
 */
function onSigned(event: Envelope, context: ListenerContext): Decision {
  const verified = event.data as SignVerified;
  const keys = new Set<string>();
  const indexed = context.state.get(PROMOTION_SUBJECT, verified.commit) as string | undefined;
  if (indexed) keys.add(indexed);
  // A release commit, or an image digest (of a candidate's list, which the index by commit does not know).
  if (verified.purpose === 'release' || verified.image) keys.add(candidateKey(verified.group, verified.version));
  const decision = nothing();
  for (const key of keys) {
    const [group, ...rest] = key.split('/');
    const candidate = load(context.state, group!, rest.join('/'));
    const next = candidate.phase === 'open' ? evaluate(event, context, candidate) : resumeSigned(event, context, candidate);
    decision.emit.push(...next.emit);
    decision.jobs.push(...next.jobs);
    decision.patches.push(...next.patches);
  }
  return decision;
}

/** The promotion job wrote release commits that are not signed yet: remember its plan, and resume at once if they are signed by now. */
function onAwaitingSignature(event: Envelope, context: ListenerContext): Decision {
  const awaiting = event.data as ReleaseAwaitingSignature;
  if (awaiting.commits.some((c) => c.purpose === 'rollback')) return nothing(); // the rollback listener's
  const candidate = load(context.state, awaiting.group, awaiting.version);
  if (candidate.phase !== 'promoting' || candidate.jobId !== awaiting.jobId) return nothing();
  const waiting: Candidate = { ...candidate, releaseSigning: { jobId: awaiting.jobId, plan: awaiting.plan, commits: awaiting.commits.map((c) => c.commit), ...(awaiting.images ? { images: awaiting.images } : {}) } };
  const resumed = resumeSigned(event, context, waiting);
  return resumed.jobs.length > 0 ? resumed : { ...nothing(), patches: [save(waiting)] };
}

/** Runs the promotion again, with the plan of its first run, once every release commit it waits on is signed. */
function resumeSigned(event: Envelope, context: ListenerContext, candidate: Candidate): Decision {
  const signing = candidate.releaseSigning;
  if (candidate.phase !== 'promoting' || !signing || !signing.commits.every((commit) => isSigned(context.state, commit))) return nothing();
  const streams = streamsOfGroup(context.config, candidate.group).filter((s) => s.promote);
  if (streams.length === 0) return nothing();
  const how = candidate.how ?? { force: false, requestedBy: null, key: 'gated' };
  return promote(event, candidate, streams, { ...how, key: 'signed', plan: signing.plan, ...(signing.images ? { imagePlan: signing.images } : {}) });
}

function refusal(group: string, version: string, reason: PromotionRefused['reason'], detail: string) {
  const data: PromotionRefused = { group, version, reason, detail };
  return { topic: 'relengd.release.promotion.refused' as const, key: `refused:${reason}`, subject: group, data };
}

function load(state: StateView, group: string, version: string): Candidate {
  return (state.get(PROMOTION, candidateKey(group, version)) as Candidate | undefined) ?? { group, version, composes: {}, approval: null, phase: 'open' };
}

function save(candidate: Candidate) {
  return { namespace: PROMOTION, key: candidateKey(candidate.group, candidate.version), value: candidate };
}
