/**
 * Greenwave gating decisions. A promotion waits for, or is refused by, the decision about
 * its subject (a compose, a build, an update) in a decision context.
 */
import { z } from 'zod';

/** One entry of the legacy `subject` list: `{item, type}`, or `{"productmd.compose.id": ...}` for composes. */
const SubjectEntry = z.looseObject({
  item: z.string().optional(),
  type: z.string().optional(),
  'productmd.compose.id': z.string().optional(),
});

/** The decision before this change; only its outcome and summary are typed. */
const PreviousDecision = z.looseObject({
  policies_satisfied: z.boolean().optional(),
  policies_satisified: z.boolean().optional(),
  summary: z.string().optional(),
});

const GreenwaveDecisionUpdateBase = z.looseObject({
  /** The outcome. Optional here only because old messages misspell it; see the refine below. */
  policies_satisfied: z.boolean().optional(),
  /** Greenwave's original misspelling of `policies_satisfied` (2017-2018 messages). */
  policies_satisified: z.boolean().optional(),
  /** Which gate decided (`rawhide_compose_sync_to_mirrors`). Missing from Bodhi's sample message. */
  decision_context: z.string().optional(),
  product_version: z.string().optional(),
  /** Current subject fields; old messages only have the `subject` list. */
  subject_type: z.string().optional(),
  subject_identifier: z.string().optional(),
  /** Kept by Greenwave for backwards compatibility. */
  subject: z.array(SubjectEntry).optional(),
  summary: z.string().optional(),
  applicable_policies: z.array(z.string()).optional(),
  satisfied_requirements: z.array(z.looseObject({})).optional(),
  unsatisfied_requirements: z.array(z.looseObject({})).optional(),
  previous: PreviousDecision.nullable().optional(),
});
type GreenwaveDecisionUpdateBase = z.infer<typeof GreenwaveDecisionUpdateBase>;

/** What a decision is about. */
export interface DecisionSubject {
  /** `compose`, `koji_build`, `bodhi_update`, ...; undefined when an old message does not say. */
  type: string | undefined;
  identifier: string;
}

/**
 * Greenwave's decision about a subject changed. Covers the current shape (`subject_type`,
 * `subject_identifier`, `policies_satisfied`), the old one (only `subject[]` and the misspelled
 * `policies_satisified`), compose subjects keyed by `productmd.compose.id`, and Bodhi's trimmed
 * sample without `decision_context`. Required: the outcome under either spelling, and a subject
 * in either form (a decision about nothing cannot gate anything).
 */
export const GreenwaveDecisionUpdate = GreenwaveDecisionUpdateBase.refine(
  (body) => body.policies_satisfied !== undefined || body.policies_satisified !== undefined,
  {
    path: ['policies_satisfied'],
    error: 'expected policies_satisfied (boolean); the old misspelling policies_satisified is also accepted',
  },
).refine((body) => subjectOf(body) !== undefined, {
  path: ['subject_identifier'],
  error: 'expected a subject: subject_identifier (string), or subject (list with an item or productmd.compose.id)',
});
export type GreenwaveDecisionUpdate = z.infer<typeof GreenwaveDecisionUpdate>;

function subjectOf(body: GreenwaveDecisionUpdateBase): DecisionSubject | undefined {
  if (body.subject_identifier !== undefined) return { type: body.subject_type, identifier: body.subject_identifier };
  for (const entry of body.subject ?? []) {
    if (entry.item !== undefined) return { type: entry.type ?? body.subject_type, identifier: entry.item };
    const composeId = entry['productmd.compose.id'];
    if (composeId !== undefined) return { type: 'compose', identifier: composeId };
  }
  return undefined;
}

/** Whether the subject passed its gate, reading the old misspelled field too; false if neither is present. */
export function policiesSatisfied(body: GreenwaveDecisionUpdate): boolean {
  return body.policies_satisfied ?? body.policies_satisified ?? false;
}

/** The subject of a decision from `subject_identifier`/`subject_type`, else from the legacy `subject` list. */
export function decisionSubject(body: GreenwaveDecisionUpdate): DecisionSubject | undefined {
  return subjectOf(body);
}
