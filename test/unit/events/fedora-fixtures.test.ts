/**
 * The inbound schemas against real Fedora messages: every captured message of a catalogued
 * topic must validate unchanged, and breaking a required field must be rejected naming it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MessageRejectedError } from '../../../src/errors.ts';
import { isTopic, topicSpec } from '../../../src/events/catalogue.ts';
import { inboundTopics } from '../../../src/events/inbound/index.ts';
import { splitTopic } from '../../../src/events/topics.ts';
import { validateData } from '../../../src/events/validate.ts';
import { fixturesMissingReason, fixturesPresent, loadFixtures } from '../../helpers/fixtures.ts';

type Body = Record<string, unknown>;

interface Row {
  file: string;
  /** Bare topic: the catalogue key. */
  name: string;
  body: Body;
}

/**
 * Requirements a schema states as "one of these keys" (a refine), which the shape cannot show:
 * deleting every key of the group must be rejected naming `field`.
 */
const requiredOneOf: Record<string, { keys: string[]; field: string }[]> = {
  'greenwave.decision.update': [
    // Old Greenwave messages misspell the outcome; either spelling satisfies the schema.
    { keys: ['policies_satisfied', 'policies_satisified'], field: 'policies_satisfied' },
    // Old messages only carry the `subject` list.
    { keys: ['subject_identifier', 'subject'], field: 'subject_identifier' },
  ],
};

const rows: Row[] = loadFixtures().flatMap((fixture) => {
  const { name } = splitTopic(fixture.topic);
  if (!isTopic(name)) return [];
  if (typeof fixture.body !== 'object' || fixture.body === null || Array.isArray(fixture.body)) {
    throw new Error(`${fixture.file}: body is not an object`);
  }
  return [{ file: fixture.file, name, body: fixture.body as Body }];
});

function objectSchemaOf(name: string): z.ZodObject {
  const schema = topicSpec(name)?.schema;
  if (!(schema instanceof z.ZodObject)) throw new Error(`${name}: schema is not a zod object`);
  return schema;
}

/** Top-level keys the schema's shape requires: those that do not accept undefined. */
function requiredKeys(name: string): string[] {
  const { shape } = objectSchemaOf(name);
  return Object.keys(shape).filter((key) => shape[key]?.safeParse(undefined).success === false);
}

/** A value of a different JSON type than `value`. */
function wrongTypeFor(value: unknown): unknown {
  if (typeof value === 'string') return 12345;
  if (typeof value === 'boolean') return 'yes';
  if (typeof value === 'number') return 'x';
  if (Array.isArray(value)) return 'not-a-list';
  if (value !== null && typeof value === 'object') return 7;
  return 12345; // null, e.g. a pungi commitid meaning "no new commit"
}

function rejectionOf(name: string, body: unknown): MessageRejectedError {
  try {
    validateData(name, body);
  } catch (error) {
    if (error instanceof MessageRejectedError) return error;
    throw error;
  }
  throw new Error(`${name}: expected the body to be rejected, but it validated`);
}

function without(body: Body, keys: readonly string[]): Body {
  const copy = structuredClone(body);
  for (const key of keys) delete copy[key];
  return copy;
}

function withValue(body: Body, key: string, value: unknown): Body {
  return { ...structuredClone(body), [key]: value };
}

const deletions = rows.flatMap((row) => [
  ...requiredKeys(row.name).map((key) => ({ ...row, keys: [key], removed: key, field: key })),
  ...(requiredOneOf[row.name] ?? []).map((group) => ({ ...row, keys: group.keys, removed: group.keys.join(' and '), field: group.field })),
]);

const mistypings = rows.flatMap((row) => {
  const keys = [...requiredKeys(row.name), ...(requiredOneOf[row.name] ?? []).flatMap((group) => group.keys)];
  return keys.filter((key) => Object.hasOwn(row.body, key)).map((key) => ({ ...row, key, value: wrongTypeFor(row.body[key]) }));
});

const title = fixturesPresent ? 'Fedora message fixtures' : `Fedora message fixtures (skipped: ${fixturesMissingReason})`;

describe.skipIf(!fixturesPresent)(title, () => {
  it('covers every inbound topic with at least one fixture', () => {
    const covered = new Set(rows.map((row) => row.name));
    const uncovered = Object.keys(inboundTopics).filter((name) => !covered.has(name));
    expect(uncovered).toEqual([]);
  });

  it('checks at least one required field of every inbound topic', () => {
    const checked = new Set(deletions.map((row) => row.name));
    expect(Object.keys(inboundTopics).filter((name) => !checked.has(name))).toEqual([]);
  });

  it.each(rows)('$file validates as $name and parses to the same data', ({ name, body }) => {
    const result = validateData(name, structuredClone(body));
    expect(result.known).toBe(true);
    // No stripping, no defaults, no transforms: the listener sees the message as sent.
    expect(result.data).toStrictEqual(body);
  });

  it.each(deletions)('$file without $removed is rejected naming $field', ({ name, body, keys, field }) => {
    const error = rejectionOf(name, without(body, keys));
    expect(error.reason).toBe('schema');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it.each(mistypings)('$file with $key of the wrong type is rejected naming it', ({ name, body, key, value }) => {
    const error = rejectionOf(name, withValue(body, key, value));
    expect(error.reason).toBe('schema');
    expect(error.field?.startsWith(key)).toBe(true);
  });

  it.each(rows.filter((row) => row.name === 'resultsdb.result.new'))('$file without testcase.name is rejected naming the nested path', ({ name, body }) => {
    const error = rejectionOf(name, { ...structuredClone(body), testcase: {} });
    expect(error.field).toBe('testcase.name');
  });

  it.each(rows)('$file keeps an unknown extra field', ({ name, body }) => {
    const { data } = validateData(name, { ...structuredClone(body), extra_future_field: 1 });
    expect(data).toMatchObject({ extra_future_field: 1 });
  });
});
