/**
 * Where each of a candidate's gates stands (pending, passed, failed) and the message that decided
 * it, from the promoter's GATING state and the stored gating messages. The promoter only asks "do
 * all gates hold?"; an operator (the dashboard, `relengd status`) wants to see which one is missing
 * or failed, and why. Pure: the caller reads the state and the messages, and says how it refers to
 * a message (`Ref`: the dashboard links to it, the CLI prints it).
 */
import type { GateConfig } from '../config/index.ts';
import { decisionSubject, policiesSatisfied, type GreenwaveDecisionUpdate } from '../events/inbound/greenwave.ts';
import { resultComposeId, resultItem, resultOutcome, resultTestcase, type ResultsdbResultNew } from '../events/inbound/resultsdb.ts';
import type { Candidate, Gating } from './listeners/promoter.ts';
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
}

const PASSING_OUTCOMES = new Set(['PASSED', 'INFO']);

export function gateViews<Ref>(input: GateInputs<Ref>): GateView<Ref>[] {
  return input.gates.flatMap((gate): GateView<Ref>[] => {
    if ('approval' in gate) {
      const approval = input.candidate.approval;
      return [{ label: 'approval', state: approval ? 'passed' : 'pending', detail: approval ? `approved by ${approval.by ?? 'an unauthenticated sender'}` : null, decidedBy: approval ? input.approvalEvent : null }];
    }
    if ('greenwave' in gate) return [greenwaveGate(input, gate.greenwave.decisionContext, gate.greenwave.subjectType)];
    return gate.resultsdb.testcases.map((testcase) => resultsdbGate(input, testcase));
  });
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
