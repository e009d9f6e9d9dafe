import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configProblems, configSummary, parseConfig } from '../../config/index.ts';
import { ConfigError } from '../../errors.ts';
import { output } from '../context.ts';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('configuration commands');
  config
    .command('check')
    .description('validate a configuration file; every problem is printed with its key path (exit 2 when invalid)')
    .argument('<file>', 'YAML configuration')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new ConfigError('', `cannot read ${file}: ${(error as Error).message}`);
      }
      const problems = configProblems(text, process.env, file);
      if (problems.length > 0) {
        output(opts.json, { valid: false, problems: problems.map((p) => ({ key: p.keyPath, error: p.message })) }, () =>
          [`${file}: invalid`, ...problems.map((p) => `  ${p.message}`)].join('\n'),
        );
        process.exitCode = 2;
        return;
      }
      const summary = configSummary(parseConfig(text, process.env, file));
      output(opts.json, { valid: true, ...summary }, () =>
        `${file}: ok (transport ${summary.transport}, store ${summary.store}, ${summary.streams.length} stream(s): ${summary.streams.join(', ') || '-'})`,
      );
    });
}
