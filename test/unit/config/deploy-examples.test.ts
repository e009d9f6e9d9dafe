import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configProblems } from '../../../src/config/index.ts';
import { projectRoot } from '../../helpers/process.ts';

const examples = join(projectRoot, 'deploy', 'examples');

describe('deploy/examples', () => {
  it.each(readdirSync(examples).filter((f) => f.endsWith('.yaml')))('%s is a valid configuration', (file) => {
    expect(configProblems(readFileSync(join(examples, file), 'utf8'), {}, file).map((p) => p.message)).toEqual([]);
  });
});
