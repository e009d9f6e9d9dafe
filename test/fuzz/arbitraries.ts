/**
 * Generators shared by the decoder fuzzers: message bodies (bytes that are and are not UTF-8 JSON,
 * nested past the depth limit, with a byte-order mark) and CloudEvents attribute values.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { MAX_JSON_DEPTH, valueDepth } from '../../src/events/json-body.ts';

/** Strings of any UTF-16 code units, lone surrogates included. */
export const anyString = (maxLength = 40) => fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });

/** A string from a small alphabet or anything: collisions and edge cases both happen. */
export const someString = (pool: readonly string[], maxLength = 40) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: fc.string({ maxLength }) }, { weight: 1, arbitrary: anyString(maxLength) });

export const topics = [
  'org.fedoraproject.prod.bodhi.compose.complete',
  'org.fedoraproject.prod.buildsys.tag',
  'org.fedoraproject.prod.greenwave.decision.update',
  'org.fedoraproject.prod.relengd.compose.finished',
  'org.fedoraproject.prod.relengd.release.approve',
  'relengd.release.promote.requested',
  'org.relengd.compose.finished',
  'bodhi.compose.complete',
  '',
  '.',
  'a..b',
];

/** Bracket nesting around the limit and far past it. */
const nested = fc.integer({ min: MAX_JSON_DEPTH - 2, max: 5_000 }).chain((depth) =>
  fc.constantFrom(`${'['.repeat(depth)}${']'.repeat(depth)}`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, `"${'['.repeat(depth)}"`),
);

/** Valid JSON text, with odd spacing now and then. */
export const jsonText = fc.oneof(
  { weight: 4, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(' ', '\n', '\t', '\r\n', ''), fc.json({ maxDepth: 3 }), fc.constantFrom(' ', '\n', '')).map(([a, j, b]) => `${a}${j}${b}`) },
  { weight: 1, arbitrary: fc.constantFrom('null', 'true', '0', '-0', '1e400', '"x"', '{}', '[]', '{"__proto__":{"a":1}}', '{"a":1,"a":2}', '123456789012345678901234567890') },
);

/** Bodies: JSON, JSON-ish and junk. `json` adds more JSON text (CloudEvents envelopes, say). */
export function bodyBytes(json: fc.Arbitrary<string> = jsonText): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 4, arbitrary: json.map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: jsonText.map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: json.map((s) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s)])) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: anyString(80).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: nested.map((s) => Buffer.from(s)) },
    // Valid JSON with a byte that is not UTF-8 inside a string.
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0x22, 0xff, 0x22]), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]), Buffer.from([0xef, 0xbb])) },
  );
}

/** A value a CloudEvents attribute might hold in a structured-mode body: usually a string, not always. */
export const attributeValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '1.0', '0.3', '2026-11-26T10:00:00Z', 'not a time', 'org.relengd.compose.finished') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A structured-mode CloudEvent (JSON text) with a random selection of attributes, some of the wrong type. */
export const structuredEvent = fc
  .record(
    {
      specversion: fc.oneof(fc.constantFrom('1.0', '0.3', '2.0', ''), attributeValue),
      id: attributeValue,
      type: attributeValue,
      source: attributeValue,
      time: attributeValue,
      subject: attributeValue,
      topic: attributeValue,
      correlationid: attributeValue,
      causationid: attributeValue,
      datacontenttype: fc.oneof(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), attributeValue),
      datacontentencoding: fc.constantFrom('base64', 'identity'),
      data: fc.jsonValue({ maxDepth: 4 }),
      data_base64: fc.oneof(
        fc.json({ maxDepth: 3 }).map((j) => Buffer.from(j).toString('base64')),
        fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
        attributeValue,
      ),
      extension: attributeValue,
    },
    { requiredKeys: [] },
  )
  .map((event) => JSON.stringify(event));

/**
 * A number JSON.parse read as ±Infinity (`1e400`): it serialises as `null`, so the data does not
 * round-trip (known bug `json-number-overflow`).
 */
export function hasNonFiniteNumber(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number' && !Number.isFinite(v)) return true;
    if (v !== null && typeof v === 'object') stack.push(...Object.values(v));
  }
  return false;
}

/** A decoded value is JSON: it serialises, reads back the same, and nests no deeper than the parser's limit. */
export function expectJsonData(data: unknown): void {
  expect(valueDepth(data)).toBeLessThanOrEqual(MAX_JSON_DEPTH);
  const text = JSON.stringify(data);
  if (data === undefined) return;
  expect(typeof text).toBe('string');
  expect(JSON.parse(text!)).toStrictEqual(normaliseJson(data));
}

/** What JSON.parse(JSON.stringify(v)) is for a value parsed from JSON: -0 reads back as 0. */
function normaliseJson(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(normaliseJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: normaliseJson(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
