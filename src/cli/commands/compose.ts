import type { Command } from 'commander';
import { streamById, streamsOfGroup } from '../../pipeline/listeners/streams.ts';
import { UsageError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { sendOperatorCommand, withOperatorRoute } from '../operator-command.ts';

interface ComposeOptions {
  stream?: string;
  group?: string;
  comment?: string;
  url?: string;
  tokenFile?: string;
  json?: boolean;
}

export function registerCompose(program: Command): void {
  withOperatorRoute(program.command('compose'))
    .description('request a compose now, as if the trigger had fired (recorded as relengd.compose.request with who asked: local:<user> when written to the store, or the token\'s publisher over HTTP)')
    .option('--stream <id>', 'one stream, e.g. f26-atomic-host-x86_64')
    .option('--group <group>', 'every stream (arch) of a group, one version for all')
    .option('--comment <text>', 'why, for the record')
    .option('--json', 'print the response as JSON')
    .action(async (opts: ComposeOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      if ((opts.stream === undefined) === (opts.group === undefined)) throw new UsageError('give one of --stream and --group');
      // Checked here, where the operator can fix it; the daemon would only compose nothing.
      if (opts.stream !== undefined && !streamById(config, opts.stream)) throw new UsageError(`no stream ${opts.stream} in the configuration (streams: ${config.streams.map((s) => s.id).join(', ') || 'none'})`);
      if (opts.group !== undefined && streamsOfGroup(config, opts.group).length === 0) throw new UsageError(`no group ${opts.group} in the configuration (groups: ${[...new Set(config.streams.map((s) => s.group))].join(', ') || 'none'})`);
      const body = { ...(opts.stream ? { stream: opts.stream } : { group: opts.group }), ...(opts.comment ? { comment: opts.comment } : {}) };
      const reply = await sendOperatorCommand(config, createLogger({ level: 'warn', fd: 2 }), 'relengd.compose.request', body, { url: opts.url, tokenFile: opts.tokenFile });
      output(opts.json, reply, () =>
        reply.ok
          ? `compose of ${opts.stream ?? opts.group} requested as ${reply.via} (${String(reply.id)}); follow it with: relengd jobs`
          : `refused (${String(reply.reason)}): ${String(reply.error)}`,
      );
      if (!reply.ok) process.exitCode = 1;
    });
}
