import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { withPrefix } from '../../events/topics.ts';
import { publishOverHttp } from '../../http/client.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';

interface PromoteOptions {
  group: string;
  version: string;
  force?: boolean;
  comment?: string;
  url?: string;
  json?: boolean;
}

export function registerPromote(program: Command): void {
  program
    .command('promote')
    .description('ask the running daemon to promote a group version now, skipping the gates (recorded as relengd.release.promote.requested with who asked)')
    .requiredOption('--group <group>', 'stream group, e.g. f26-atomic-host')
    .requiredOption('--version <version>', 'version to promote, e.g. 26.20170705.0')
    .option('--force', 'move the refs even when the candidate does not descend from the current release')
    .option('--comment <text>', 'why, for the record')
    .option('--url <url>', 'relengd HTTP endpoint (default: from the config http section)')
    .option('--json', 'print the response as JSON')
    .action(async (opts: PromoteOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const baseUrl = opts.url ?? `http://${config.http.host}:${config.http.port}`;
      const body = { group: opts.group, version: opts.version, force: Boolean(opts.force), requestedBy: process.env.SUDO_USER ?? userInfo().username, ...(opts.comment ? { comment: opts.comment } : {}) };
      // Each request is its own decision: a retry after a refusal must not be taken for a duplicate.
      const reply = await publishOverHttp(baseUrl, { topic: withPrefix('relengd.release.promote.requested', config.topicPrefix), id: randomUUID(), body });
      output(opts.json, reply.body, () =>
        reply.status < 300
          ? `promotion of ${opts.group} ${opts.version} requested (${String(reply.body.id)}); follow it with: relengd events --topic '#.release.#'`
          : `refused (${String(reply.body.reason)}): ${String(reply.body.error)}`,
      );
      if (reply.status >= 300) process.exitCode = 1;
    });
}
