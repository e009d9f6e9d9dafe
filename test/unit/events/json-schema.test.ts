/**
 * The JSON Schemas other systems read to produce and consume relengd's topics: generated from the
 * zod catalogue, and committed in schemas/ — which must never drift from the generator.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../../src/events/catalogue.ts';
import { exportJsonSchemas } from '../../../src/events/json-schema.ts';

const schemasDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'schemas');
const regenerate = 'schemas/ is out of date: run `npm run relengd -- schemas export schemas`';

const generated = exportJsonSchemas();
const files = [...generated.entries()];

interface SchemaDoc {
  $schema?: unknown;
  $id?: unknown;
  title?: unknown;
  type?: unknown;
  required?: unknown;
  additionalProperties?: unknown;
  properties?: Record<string, unknown>;
}

function docOf(file: string): SchemaDoc {
  const text = generated.get(file);
  if (text === undefined) throw new Error(`no generated schema ${file}`);
  return JSON.parse(text) as SchemaDoc;
}

describe('exportJsonSchemas', () => {
  it('gives one file per catalogue topic', () => {
    expect([...generated.keys()].sort()).toEqual(Object.keys(catalogue).map((topic) => `${topic}.json`).sort());
  });

  it.each(Object.keys(catalogue))('declares draft 2020-12 and a stable $id for %s', (topic) => {
    const doc = docOf(`${topic}.json`);
    expect(doc.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(doc.$id).toMatch(/^https:\/\//);
    expect(String(doc.$id).endsWith(`/${topic}.json`)).toBe(true);
    expect(doc.title).toBe(topic);
    expect(doc.type).toBe('object');
  });

  it('gives every file a distinct $id', () => {
    const ids = files.map(([file]) => docOf(file).$id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('writes pretty-printed JSON ending in a newline', () => {
    for (const [file, text] of files) {
      expect(text.endsWith('}\n'), file).toBe(true);
      expect(text, file).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    }
  });

  it('requires repo and success of bodhi.compose.complete but allows the fields Fedora adds', () => {
    const doc = docOf('bodhi.compose.complete.json');
    expect(doc.required).toEqual(expect.arrayContaining(['repo', 'success']));
    expect(doc.required).not.toContain('ctype');
    expect(doc.required).not.toContain('agent');
    expect(doc.properties?.['success']).toEqual({ type: 'boolean' });
    expect(doc.additionalProperties).not.toBe(false);
  });

  it.each(Object.entries(catalogue).filter(([, spec]) => spec.origin === 'inbound').map(([topic]) => topic))(
    'allows additional top-level fields in inbound %s',
    (topic) => {
      expect(docOf(`${topic}.json`).additionalProperties).not.toBe(false);
    },
  );
});

describe('schemas/ in the repository', () => {
  const committed = readdirSync(schemasDir).sort();

  it('has a file for every generated schema', () => {
    const missing = [...generated.keys()].filter((file) => !committed.includes(file));
    expect(missing, `${regenerate} (missing: ${missing.join(', ')})`).toEqual([]);
  });

  it('has no files the generator does not produce', () => {
    const extra = committed.filter((file) => !generated.has(file));
    expect(extra, `${regenerate} (and delete: ${extra.join(', ')})`).toEqual([]);
  });

  it.each(files.map(([file]) => file))('holds %s byte-identical to the generated one', (file) => {
    const expected = Buffer.from(generated.get(file) ?? '', 'utf8');
    let actual: Buffer;
    try {
      actual = readFileSync(join(schemasDir, file));
    } catch {
      expect.fail(`${regenerate} (schemas/${file} cannot be read)`);
    }
    expect(actual.toString('utf8'), `${regenerate} (schemas/${file} differs)`).toBe(expected.toString('utf8'));
    expect(actual.equals(expected), `${regenerate} (schemas/${file} differs in its bytes)`).toBe(true);
  });
});
