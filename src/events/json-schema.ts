import { z } from 'zod';
import { catalogue } from './catalogue.ts';

export const JSON_SCHEMA_BASE_ID = 'https://relengd.dev/schemas/';

/**
 * JSON Schema (draft 2020-12) of every topic's message body, generated from the zod schemas:
 * file name -> file content. `schemas/` in the repository is this output; a test keeps it current.
 */
export function exportJsonSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [topic, spec] of Object.entries(catalogue)) {
    const schema = z.toJSONSchema(spec.schema, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' });
    const doc = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `${JSON_SCHEMA_BASE_ID}${topic}.json`,
      title: topic,
      description: spec.summary,
      ...withoutSchemaKey(schema),
    };
    files.set(`${topic}.json`, `${JSON.stringify(doc, null, 2)}\n`);
  }
  return files;
}

function withoutSchemaKey(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}
