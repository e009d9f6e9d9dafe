/**
 * ResultsDB test results: input to gating, about a compose, a build or a module.
 */
import { z } from 'zod';

/** ResultsDB API v2 serialises extra data as lists of strings; single strings are accepted too. */
const DataValue = z.union([z.string(), z.array(z.string())]);

/**
 * A new result was stored (ResultsDB v2 result as the body: `testcase`, `outcome`, `data`).
 * Covers a compose result (`data.item`, `data["productmd.compose.id"]`) and a module result.
 * The older Taskotron-compatible shape (`task` + `result`) is published on `taskotron.result.new`,
 * not on this topic.
 */
export const ResultsdbResultNew = z.looseObject({
  /** PASSED, FAILED, INFO, NEEDS_INSPECTION, ... */
  outcome: z.string(),
  testcase: z.looseObject({
    name: z.string(),
    ref_url: z.string().optional(),
  }),
  /** What was tested; every key is optional, the subject is in `item`, `productmd.compose.id` or an NVR key. */
  data: z.looseObject({
    item: DataValue.optional(),
    type: DataValue.optional(),
    'productmd.compose.id': DataValue.optional(),
    nvr: DataValue.optional(),
    original_spec_nvr: DataValue.optional(),
  }),
  id: z.number().optional(),
  submit_time: z.string().optional(),
  ref_url: z.string().nullable().optional(),
  note: z.string().nullable().optional(),
});
export type ResultsdbResultNew = z.infer<typeof ResultsdbResultNew>;

/** The first value of a data key, whether serialised as a list or a string. */
function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The result's outcome (`PASSED`, `FAILED`, ...). */
export function resultOutcome(body: ResultsdbResultNew): string {
  return body.outcome;
}

/** The name of the test case that produced the result. */
export function resultTestcase(body: ResultsdbResultNew): string {
  return body.testcase.name;
}

/** The tested subject: `data.item`, else the compose id, else the build NVR; undefined if none is given. */
export function resultItem(body: ResultsdbResultNew): string | undefined {
  const { data } = body;
  return first(data.item) ?? first(data['productmd.compose.id']) ?? first(data.nvr) ?? first(data.original_spec_nvr);
}

/** The subject type (`compose`, `koji_build`, `redhat-module`, ...) from `data.type`. */
export function resultItemType(body: ResultsdbResultNew): string | undefined {
  return first(body.data.type);
}

/** The Pungi compose a result is about: `productmd.compose.id`, else the item of a `compose` result. */
export function resultComposeId(body: ResultsdbResultNew): string | undefined {
  const composeId = first(body.data['productmd.compose.id']);
  if (composeId !== undefined) return composeId;
  return resultItemType(body) === 'compose' ? first(body.data.item) : undefined;
}
