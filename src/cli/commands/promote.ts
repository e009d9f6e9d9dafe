import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { sendOperatorCommand, withOperatorRoute, withOutcomeWait } from '../operator-command.ts';
import { refMoveLines, waitForPromotion, type PromotionOutcome } from '../promotion-outcome.ts';
import { parsePositiveInt } from '../time.ts';

interface PromoteOptions {
  group: string;
  version: string;
  force?: boolean;
  comment?: string;
  url?: string;
  tokenFile?: string;
  wait?: boolean;
  timeout: string;
  json?: boolean;
}

export function registerPromote(program: Command): void {
  withOutcomeWait(withOperatorRoute(program.command('promote')), 'the refs moved')
    .description('ask the running daemon to promote a group version now, skipping the gates (recorded as relengd.release.promote.requested with who asked: local:<user> when written to the store, or the token\'s publisher over HTTP)')
    .requiredOption('--group <group>', 'stream group, e.g. f26-atomic-host')
    .requiredOption('--version <version>', 'version to promote, e.g. 26.20170705.0')
    .option('--force', 'move the refs even when the candidate does not descend from the current release')
    .action(async (opts: PromoteOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      const logger = createLogger({ level: 'warn', fd: 2 });
      const body = { group: opts.group, version: opts.version, force: Boolean(opts.force), ...(opts.comment ? { comment: opts.comment } : {}) };
      const route = { url: opts.url, tokenFile: opts.tokenFile };
      const timeoutMinutes = parsePositiveInt(opts.timeout, '--timeout');
      const reply = await sendOperatorCommand(config, logger, 'relengd.release.promote.requested', body, route);
      if (reply.ok && opts.wait) {
        const outcome = await waitForPromotion(config, route, String(reply.id), timeoutMinutes * 60_000);
        output(opts.json, { ...reply, ...outcome }, () => renderOutcome(opts, outcome));
        if (outcome.outcome !== 'promoted') process.exitCode = 1;
        return;
      }
      output(opts.json, reply, () =>
        reply.ok
          ? `promotion of ${opts.group} ${opts.version} requested as ${reply.via} (${String(reply.id)}); follow it with: relengd events --topic '#.release.#'`
          : `refused (${String(reply.reason)}): ${String(reply.error)}`,
      );
      if (!reply.ok) process.exitCode = 1;
    });
}

function renderOutcome(opts: PromoteOptions, outcome: PromotionOutcome): string {
  switch (outcome.outcome) {
    case 'promoted':
      return [`promoted ${opts.group} ${outcome.version}:`, ...refMoveLines(outcome.refs)].join('\n');
    case 'refused':
      return `refused (${outcome.reason}): ${outcome.detail}`;
    case 'pending':
      return `no outcome after ${opts.timeout} minute(s); the request stands: follow it with relengd events --topic '#.release.#'`;
  }
}
