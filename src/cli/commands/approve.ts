import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { sendOperatorCommand, withOperatorRoute } from '../operator-command.ts';

interface ApproveOptions {
  group: string;
  version: string;
  comment?: string;
  url?: string;
  tokenFile?: string;
  json?: boolean;
}

export function registerApprove(program: Command): void {
  withOperatorRoute(program.command('approve'))
    .description('approve a group version for release (the approval gate), recorded as relengd.release.approve with who approved: local:<user> when written to the store, or the token\'s publisher over HTTP')
    .requiredOption('--group <group>', 'stream group, e.g. f26-atomic-host')
    .requiredOption('--version <version>', 'version to approve, e.g. 26.20170705.0')
    .option('--comment <text>', 'why, for the record')
    .option('--json', 'print the response as JSON')
    .action(async (opts: ApproveOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const body = { group: opts.group, version: opts.version, ...(opts.comment ? { comment: opts.comment } : {}) };
      const reply = await sendOperatorCommand(config, createLogger({ level: 'warn', fd: 2 }), 'relengd.release.approve', body, { url: opts.url, tokenFile: opts.tokenFile });
      output(opts.json, reply, () =>
        reply.ok ? `approval of ${opts.group} ${opts.version} recorded as ${reply.via} (${String(reply.id)})` : `refused (${String(reply.reason)}): ${String(reply.error)}`,
      );
      if (!reply.ok) process.exitCode = 1;
    });
}
