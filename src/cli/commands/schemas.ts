import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { exportJsonSchemas } from '../../events/json-schema.ts';

export function registerSchemas(program: Command): void {
  program
    .command('schemas')
    .description('event schemas')
    .command('export')
    .description('write the JSON Schema (draft 2020-12) of every event, one file per topic')
    .argument('<dir>', 'output directory')
    .action((dir: string) => {
      mkdirSync(dir, { recursive: true });
      const files = exportJsonSchemas();
      for (const [name, content] of files) writeFileSync(join(dir, name), content);
      process.stdout.write(`wrote ${files.size} schemas to ${dir}\n`);
    });
}
