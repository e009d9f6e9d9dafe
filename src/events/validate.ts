import type { z } from 'zod';
import { MessageRejectedError, RejectReason } from '../errors.ts';
import { topicSpec } from './catalogue.ts';

/** `update.builds[0].nvr` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Describes the first zod issue as "field: what was wrong". */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', message: 'invalid' };
  const field = formatPath(issue.path);
  return { field, message: field ? `${field}: ${issue.message}` : issue.message };
}

/**
 * Validates a message body against its topic's schema and returns the parsed data.
 * Topics without a schema pass through unchanged (`known: false`): they are kept, but no listener reads them.
 * @throws MessageRejectedError (reason `schema`) naming the first offending field.
 */
export function validateData(topic: string, data: unknown): { data: unknown; known: boolean } {
  const spec = topicSpec(topic);
  if (!spec) return { data, known: false };
  const result = spec.schema.safeParse(data);
  if (result.success) return { data: result.data, known: true };
  const { field, message } = describeIssue(result.error);
  throw new MessageRejectedError(RejectReason.schema, `${topic}: ${message}`, field);
}
