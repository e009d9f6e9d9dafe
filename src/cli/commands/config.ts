import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configProblems, configSummary, parseConfig } from '../../config/index.ts';
import { ConfigError } from '../../errors.ts';
import { UsageError } from '../../errors.ts';
import { output, type GlobalOptions } from '../context.ts';
import { preflight } from '../preflight.ts';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('configuration commands');
  config
    .command('check')
    .description('validate a configuration as start would, without connecting anywhere (token, TLS and password files included); every problem is printed with its key path (exit 2 when invalid)')
    .argument('[file]', 'YAML configuration (default: the global --config, else $RELENGD_CONFIG)')
    .option('--json', 'print JSON')
    .action((fileArgument: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const file = fileArgument ?? cmd.optsWithGlobals<GlobalOptions>().config ?? (process.env.RELENGD_CONFIG || undefined);
      if (file === undefined) throw new UsageError('config check needs a file: relengd config check FILE, or relengd --config FILE config check');
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
      const config = parseConfig(text, process.env, file);
      try {
        preflight(config, { serveHttp: true });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        output(opts.json, { valid: false, problems: [{ key: error.keyPath, error: error.message }] }, () => `${file}: invalid\n  ${error.message}`);
        process.exitCode = 2;
        return;
      }
      const summary = configSummary(config);
      output(opts.json, { valid: true, ...summary }, () =>
        `${file}: ok (transport ${summary.transport}, store ${summary.store}, ${summary.streams.length} stream(s): ${summary.streams.join(', ') || '-'})`,
      );
    });
}
