/**
 * Every configuration key the schema documents is read by some code: a key nothing reads is a
 * promise the daemon does not keep (a user sets it and nothing changes).
 *
 * The rule, pragmatic rather than exact: walk the zod schema for every key path
 * (`streams[].promote.gates[].greenwave.subjectType`) and require its last name to appear in `src/`
 * (src/config/schema.ts excepted, which only declares and validates) as a property read: `.name`,
 * `?.name`, `['name']`, or in a destructuring pattern `{ ..., name, ... } =` / `}:`. A name counts
 * wherever it is read, so a common name (`path`, `url`) passes on any use: this catches keys whose
 * name nothing reads at all, like `ostree.refBinding` and `greenwave.subjectType` once were.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../../src/config/schema.ts';

const SRC = join(import.meta.dirname, '../../../src');
const SCHEMA_FILE = join(SRC, 'config/schema.ts');

/** Keys accepted but not read yet, each with why; a key read after all must leave this list. */
const NOT_READ_YET: Record<string, string> = {};

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;

/** Every key path of the schema, through defaults, optionals, pipes (preprocess, transform), arrays and records. */
function keyPaths(schema: z.ZodType, prefix = ''): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape!).flatMap(([key, child]) => {
        const path = prefix ? `${prefix}.${key}` : key;
        return [path, ...keyPaths(child, path)];
      });
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return keyPaths(def.innerType!, prefix);
    case 'pipe':
      return [...new Set([...keyPaths(def.in!, prefix), ...keyPaths(def.out!, prefix)])];
    case 'array':
      return keyPaths(def.element!, `${prefix}[]`);
    case 'record':
      return keyPaths(def.valueType!, `${prefix}.*`);
    case 'union':
      return [...new Set(def.options!.flatMap((option) => keyPaths(option, prefix)))];
    default:
      return [];
  }
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && path !== SCHEMA_FILE ? [readFileSync(path, 'utf8')] : [];
  });
}

function isRead(name: string, code: string): boolean {
  const access = new RegExp(`\\.${name}\\b|\\[['"]${name}['"]\\]`);
  const destructured = new RegExp(`\\{[^{}]*\\b${name}\\b[^{}]*\\}\\s*[=:]`);
  return access.test(code) || destructured.test(code);
}

describe('configuration keys', () => {
  const paths = keyPaths(ConfigSchema);
  const code = sources(SRC).join('\n');

  it('finds the keys of the whole schema, nested ones included', () => {
    expect(paths).toEqual(expect.arrayContaining(['topicPrefix', 'bus.amqp.tls.cert', 'streams[].ostree.compose', 'streams[].triggers.tags[].action', 'streams[].promote.gates[].greenwave.decisionContext', 'streams[].promote.summary.gpgKey']));
    expect(paths).not.toContain('streams[].ostree.refBinding');
  });

  it('are each read by some code in src/', () => {
    const unread = paths.filter((path) => !(path in NOT_READ_YET) && !isRead(path.split('.').at(-1)!.replace(/\[\]$/, ''), code));
    expect(unread).toEqual([]);
  });

  it('lists as not read yet only keys that exist and that nothing reads', () => {
    for (const path of Object.keys(NOT_READ_YET)) {
      expect(paths).toContain(path);
      expect(isRead(path.split('.').at(-1)!, code), `${path} is read now: remove it from NOT_READ_YET`).toBe(false);
    }
  });
});
