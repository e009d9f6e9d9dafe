import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configProblems, loadConfigFile } from '../../../src/config/index.ts';
import { projectRoot } from '../../helpers/process.ts';

const examples = join(projectRoot, 'deploy', 'examples');

describe('deploy/examples', () => {
  it.each(readdirSync(examples).filter((f) => f.endsWith('.yaml')))('%s is a valid configuration', (file) => {
    expect(configProblems(readFileSync(join(examples, file), 'utf8'), {}, file).map((p) => p.message)).toEqual([]);
  });
});

describe('deploy/examples: the programs they run', () => {
  it.each(readdirSync(examples).filter((f) => f.endsWith('.yaml')))('%s: every helper script it names is where it says, and executable', (file) => {
    const config = loadConfigFile(join(examples, file), {});
    const programs = config.streams.flatMap((s) => [s.ostree.compose[0]!, ...s.artifacts.map((a) => a.command[0]!)]);
    for (const program of programs.filter((p) => p.includes('/'))) {
      expect(existsSync(program), `${file} runs ${program}`).toBe(true);
      accessSync(program, constants.X_OK);
    }
  });

  it('production.yaml runs deploy/scripts/koji-image-build, named relative to the config', () => {
    const config = loadConfigFile(join(examples, 'production.yaml'), {});
    expect(config.streams[0]!.artifacts.map((a) => a.command[0])).toContain(join(projectRoot, 'deploy', 'scripts', 'koji-image-build'));
  });
});
