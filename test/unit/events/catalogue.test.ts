import { describe, expect, it } from 'vitest';
import { exportJsonSchemas } from '../../../src/events/json-schema.ts';

function keysDeep(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => keysDeep(v, found));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) (found.add(k), keysDeep(v, found));
  return found;
}

describe('the catalogue', () => {
  // The store keeps a body's bytes as its data: a schema that filled in defaults would make the
  // stored data differ from what the listeners were given.
  it.each([...exportJsonSchemas()])('%s fills in no default, so a validated body is the body as received', (_file, text) => {
    expect(keysDeep(JSON.parse(text)).has('default')).toBe(false);
  });
});
