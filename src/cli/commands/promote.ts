import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { sendOperatorCommand } from '../operator-command.ts';

interface PromoteOptions {
  group: string;
  version: string;
  force?: boolean;
  comment?: string;
  url?: string;
  tokenFile?: string;
  json?: boolean;
}

export function registerPromote(program: Command): void {
  program
    .command('promote')
    .description('ask the running daemon to promote a group version now, skipping the gates (recorded as relengd.release.promote.requested with who asked: local:<user> when written to the store, or the token\'s publisher over HTTP)')
    .requiredOption('--group <group>', 'stream group, e.g. f26-atomic-host')
    .requiredOption('--version <version>', 'version to promote, e.g. 26.20170705.0')
    .option('--force', 'move the refs even when the candidate does not descend from the current release')
    .option('--comment <text>', 'why, for the record')
    .option('--url <url>', 'send to the daemon over HTTP instead of writing to the local store (needs a token the daemon maps to an allowed publisher)')
    .option('--token-file <file>', 'authenticate with the bearer token in this file (default: $RELENGD_TOKEN)')
    .option('--json', 'print the response as JSON')
    .action(async (opts: PromoteOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const logger = createLogger({ level: 'warn', fd: 2 });
      const body = { group: opts.group, version: opts.version, force: Boolean(opts.force), ...(opts.comment ? { comment: opts.comment } : {}) };
      const reply = await sendOperatorCommand(config, logger, 'relengd.release.promote.requested', body, { url: opts.url, tokenFile: opts.tokenFile });
      output(opts.json, reply, () =>
        reply.ok
          ? `promotion of ${opts.group} ${opts.version} requested as ${reply.via} (${String(reply.id)}); follow it with: relengd events --topic '#.release.#'`
          : `refused (${String(reply.reason)}): ${String(reply.error)}`,
      );
      if (!reply.ok) process.exitCode = 1;
    });
}
