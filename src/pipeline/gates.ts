/**
 * Where each of a candidate's gates stands (pending, passed, failed) and the message that decided
 * it, from the promoter's GATING state and the stored gating messages (and, for a signed group, the
 * "signed" gate from the signer's records: src/pipeline/listeners/sign-state.ts). The promoter only asks "do
 * all gates hold?"; an operator (the dashboard, `relengd status`) wants to see which one is missing
 * or failed, and why. Pure: the caller reads the state and the messages, and says how it refers to
 * a message (`Ref`: the dashboard links to it, the CLI prints it).
 */
import type { GateConfig } from '../config/index.ts';
import { decisionSubject, policiesSatisfied, type GreenwaveDecisionUpdate } from '../events/inbound/greenwave.ts';
import { resultComposeId, resultItem, resultOutcome, resultTestcase, type ResultsdbResultNew } from '../events/inbound/resultsdb.ts';
import type { Candidate, Gating } from './listeners/promoter.ts';
import { gaveUpPhrase, type SignatureRecord } from './listeners/sign-state.ts';
import { groupLabel } from './listeners/streams.ts';

export type GateState = 'pending' | 'passed' | 'failed';

export interface GateView<Ref> {
  /** `greenwave atomic_two_week`, `resultsdb atomic.host.smoke`, `approval`. */
  label: string;
  state: GateState;
  /** What the deciding message said (Greenwave's summary, the outcome, who approved). */
  detail: string | null;
  decidedBy: Ref | null;
}

/** A stored gating message: how to refer to it, and its body. */
export interface GatingMessage<Ref> {
  ref: Ref;
  data: unknown;
}

export interface GateInputs<Ref> {
  candidate: Candidate;
  /** The arches the group promotes: a gate passes only when it holds for each. */
  arches: readonly string[];
  gates: readonly GateConfig[];
  gatingOf: (subject: string) => Gating;
  /** Newest first. */
  greenwaveMessages: readonly GatingMessage<Ref>[];
  resultsdbMessages: readonly GatingMessage<Ref>[];
  approvalEvent: Ref | null;
  /** The group's signing (`streams[].sign`): where each commit's signature stands, and how to refer to a stored event. Absent: the group is not signed. */
  signing?: { signatureOf: (commit: string) => SignatureRecord | undefined; eventRef: (id: string) => Ref | null; unsignedImages?: readonly string[] | undefined } | undefined;
}

const PASSING_OUTCOMES = new Set(['PASSED', 'INFO']);

export function gateViews<Ref>(input: GateInputs<Ref>): GateView<Ref>[] {
  const configured = input.gates.flatMap((gate): GateView<Ref>[] => {
    if ('approval' in gate) {
      const approval = input.candidate.approval;
      return [{ label: 'approval', state: approval ? 'passed' : 'pending', detail: approval ? `approved by ${approval.by ?? 'an unauthenticated sender'}` : null, decidedBy: approval ? input.approvalEvent : null }];
    }
    if ('greenwave' in gate) return [greenwaveGate(input, gate.greenwave.decisionContext, gate.greenwave.subjectType)];
    return gate.resultsdb.testcases.map((testcase) => resultsdbGate(input, testcase));
  });
  return [...configured, ...signedGates(input)];
}

/**
 * "signed": each arch's commit carries a verified signature. Never failed: a timeout or a refused
 * reply leaves it pending (a late reply still counts), and the detail says which. While a promotion
 * waits for the signatures of the release commits it wrote, "release commits signed" says the same of those.
 */
function signedGates<Ref>(input: GateInputs<Ref>): GateView<Ref>[] {
  const { signing, candidate } = input;
  if (!signing) return [];
  const candidateCommits = input.arches.map((arch) => ({ arch, commit: candidate.composes[arch]?.commit ?? null }));
  const views = [signedGate('signed', candidateCommits, signing)];
  // A released container image: its manifest list and every arch's image are signed too (../listeners/sign-gate.ts).
  if (signing.unsignedImages) views.push({ label: 'images signed', state: signing.unsignedImages.length === 0 ? 'passed' : 'pending', detail: signing.unsignedImages.join('; ') || null, decidedBy: null });
  const release = candidate.releaseSigning;
  if (candidate.phase === 'promoting' && release) {
    const archOf = new Map(release.plan.map((m) => [m.to, m.arch]));
    views.push(signedGate('release commits signed', release.commits.map((commit) => ({ arch: archOf.get(commit) ?? '?', commit })), signing));
  }
  return views;
}

function signedGate<Ref>(label: string, commits: ReadonlyArray<{ arch: string; commit: string | null }>, signing: NonNullable<GateInputs<Ref>['signing']>): GateView<Ref> {
  const records = commits.map(({ arch, commit }) => ({ arch, commit, record: commit === null ? undefined : signing.signatureOf(commit) }));
  const signed = records.length > 0 && records.every((r) => r.record?.state === 'verified');
  // The newest event that decided anything: the last verification, else the last timeout or refusal.
  const deciding = records
    .flatMap(({ record }) => (record ? [record.verified, record.timeouts.at(-1), record.refusals.at(-1)].filter((x) => x != null) : []))
    .sort((a, b) => b.at.localeCompare(a.at))[0];
  const detail = records.map(({ arch, commit, record }) => `${arch}: ${signatureDetail(commit, record)}`).join('; ');
  return { label, state: signed ? 'passed' : 'pending', detail: detail || null, decidedBy: deciding ? signing.eventRef(deciding.eventId) : null };
}

/** Where one commit's signing stands, in a phrase. */
function signatureDetail(commit: string | null, record: SignatureRecord | undefined): string {
  if (commit === null) return 'no commit yet';
  if (!record) return 'not requested yet';
  if (record.verified) return `signed by ${record.verified.keyId}${record.verified.signer ? ` (${record.verified.signer})` : ''}, verified at ${record.verified.at}`;
  const parts: string[] = [];
  const request = record.request;
  const timeout = record.timeouts.at(-1);
  const gaveUp = gaveUpPhrase(record);
  if (gaveUp) parts.push(gaveUp);
  else if (request) parts.push(`requested at ${request.at} (request ${request.requestId}, attempt ${request.attempt} of ${request.attempts}, sent ${request.sent}×)${timeout ? `; attempt ${timeout.attempt} timed out at ${timeout.at}` : ''}`);
  const reply = record.replies.at(-1);
  if (reply) parts.push(`signer replied ${reply.status}${reply.failure ? ` (${reply.failure})` : ''} at ${reply.at}`);
  const refusal = record.refusals.at(-1);
  if (refusal) parts.push(`refused at ${refusal.at}: ${refusal.detail}`);
  return parts.join('; ') || 'requested';
}

/** What a candidate's gating facts are keyed by: each arch's commit and compose id, and the group's label. */
function subjectsOf(input: GateInputs<unknown>): { perArch: string[][]; all: Set<string> } {
  const { candidate } = input;
  const label = groupLabel(candidate.group, candidate.version);
  const perArch = input.arches.map((arch) => {
    const compose = candidate.composes[arch];
    return compose ? [compose.commit, compose.composeId, label].filter((s): s is string => typeof s === 'string') : [];
  });
  return { perArch, all: new Set(perArch.flat().concat(label)) };
}

/** Failed when any arch has a failing verdict, passed when every arch has a passing one and none failing. */
function combine(input: GateInputs<unknown>, verdictOf: (gating: Gating) => boolean | undefined): GateState {
  const states = subjectsOf(input).perArch.map((subjects): GateState => {
    const verdicts = subjects.map((s) => verdictOf(input.gatingOf(s)));
    if (verdicts.includes(false)) return 'failed';
    return verdicts.includes(true) ? 'passed' : 'pending';
  });
  if (states.includes('failed')) return 'failed';
  return states.length > 0 && states.every((s) => s === 'passed') ? 'passed' : 'pending';
}

function greenwaveGate<Ref>(input: GateInputs<Ref>, context: string, subjectType: string | undefined): GateView<Ref> {
  const state = combine(input, (g) => (subjectType === undefined ? g.greenwave[context] : g.greenwaveByType?.[subjectType]?.[context]));
  const { all } = subjectsOf(input);
  const decided = input.greenwaveMessages.find(({ data }) => {
    const body = data as GreenwaveDecisionUpdate;
    const subject = decisionSubject(body);
    if (body.decision_context !== context || !subject || !all.has(subject.identifier)) return false;
    if (subjectType !== undefined && subject.type !== subjectType) return false;
    return state === 'pending' || policiesSatisfied(body) === (state === 'passed');
  });
  const body = decided?.data as GreenwaveDecisionUpdate | undefined;
  const detail = body ? `${policiesSatisfied(body) ? 'policies satisfied' : 'policies not satisfied'}${typeof body.summary === 'string' ? `: ${body.summary}` : ''}` : null;
  return { label: `greenwave ${context}${subjectType ? ` (${subjectType})` : ''}`, state, detail, decidedBy: decided?.ref ?? null };
}

function resultsdbGate<Ref>(input: GateInputs<Ref>, testcase: string): GateView<Ref> {
  const state = combine(input, (g) => {
    const outcome = g.results[testcase];
    if (outcome === undefined) return undefined;
    if (outcome === 'FAILED') return false;
    return PASSING_OUTCOMES.has(outcome) ? true : undefined;
  });
  const { all } = subjectsOf(input);
  const decided = input.resultsdbMessages.find(({ data }) => {
    const body = data as ResultsdbResultNew;
    const subject = resultComposeId(body) ?? resultItem(body);
    return subject !== undefined && all.has(subject) && resultTestcase(body) === testcase;
  });
  return { label: `resultsdb ${testcase}`, state, detail: decided ? `outcome ${resultOutcome(decided.data as ResultsdbResultNew)}` : null, decidedBy: decided?.ref ?? null };
}
