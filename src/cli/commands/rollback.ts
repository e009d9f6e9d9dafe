import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { streamsOfGroup } from '../../pipeline/listeners/streams.ts';
import { isSafeValue, SAFE_VALUE_HINT } from '../../trust.ts';
import { output, resolveConfig, type GlobalOptions } from '../context.ts';
import { sendOperatorCommand, withOperatorRoute, withOutcomeWait } from '../operator-command.ts';
import { refMoveLines, waitForRollback, type RollbackOutcome } from '../promotion-outcome.ts';
import { parsePositiveInt } from '../time.ts';

interface RollbackOptions {
  group: string;
  toVersion?: string;
  to?: string;
  comment?: string;
  url?: string;
  tokenFile?: string;
  wait?: boolean;
  timeout: string;
  json?: boolean;
}

export function registerRollback(program: Command): void {
  withOutcomeWait(withOperatorRoute(program.command('rollback')), 'the refs moved back')
    .description(
      "ask the running daemon to move every arch's release ref of a group back to an earlier promoted version, as a new commit clients fast-forward to (recorded as relengd.release.rollback.requested with who asked: local:<user> when written to the store, or the token's publisher over HTTP); the version rolled back is never promoted again automatically",
    )
    .requiredOption('--group <group>', 'stream group, e.g. f26-atomic-host')
    .option('--to-version <version>', 'the promoted version to go back to (default: the one promoted before the current release)')
    .option('--to <commit>', 'the promoted version one of whose commits this is (a release or composed commit, or its first 7+ hex digits)')
    .action(async (opts: RollbackOptions, cmd: Command) => {
      const { config } = resolveConfig(cmd.optsWithGlobals<GlobalOptions>());
      if (opts.toVersion !== undefined && opts.to !== undefined) throw new UsageError('give at most one of --to-version and --to');
      if (opts.toVersion !== undefined && !isSafeValue(opts.toVersion)) throw new UsageError(`--to-version: ${SAFE_VALUE_HINT}`);
      if (opts.to !== undefined && !/^[0-9a-f]{7,64}$/.test(opts.to)) throw new UsageError('--to: an OSTree commit checksum, or at least its first 7 hex digits');
      // Checked here, where the operator can fix it; the daemon would only refuse.
      if (!streamsOfGroup(config, opts.group).some((s) => s.promote)) {
        const promoted = [...new Set(config.streams.filter((s) => s.promote).map((s) => s.group))];
        throw new UsageError(`no promoted group ${opts.group} in the configuration (groups with promote: ${promoted.join(', ') || 'none'})`);
      }
      const body = {
        group: opts.group,
        ...(opts.toVersion !== undefined ? { toVersion: opts.toVersion } : {}),
        ...(opts.to !== undefined ? { toCommit: opts.to } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}),
      };
      const route = { url: opts.url, tokenFile: opts.tokenFile };
      const timeoutMinutes = parsePositiveInt(opts.timeout, '--timeout');
      const reply = await sendOperatorCommand(config, createLogger({ level: 'warn', fd: 2 }), 'relengd.release.rollback.requested', body, route);
      if (reply.ok && opts.wait) {
        const outcome = await waitForRollback(config, route, String(reply.id), timeoutMinutes * 60_000);
        output(opts.json, { ...reply, ...outcome }, () => renderOutcome(opts, outcome));
        if (outcome.outcome !== 'rolled-back') process.exitCode = 1;
        return;
      }
      const target = opts.toVersion ?? (opts.to !== undefined ? `the version of ${opts.to}` : 'the previous promoted version');
      output(opts.json, reply, () =>
        reply.ok
          ? `rollback of ${opts.group} to ${target} requested as ${reply.via} (${String(reply.id)}); follow it with: relengd releases --group ${opts.group}`
          : `refused (${String(reply.reason)}): ${String(reply.error)}`,
      );
      if (!reply.ok) process.exitCode = 1;
    });
}

function renderOutcome(opts: RollbackOptions, outcome: RollbackOutcome): string {
  switch (outcome.outcome) {
    case 'rolled-back':
      return [`rolled back ${opts.group} from ${outcome.fromVersion} to ${outcome.toVersion} (${outcome.fromVersion} is not promoted again automatically):`, ...refMoveLines(outcome.refs)].join('\n');
    case 'refused':
      return `refused (${outcome.reason}): ${outcome.detail}`;
    case 'pending': {
      const waiting = 'awaitingSignature' in outcome ? `; the rollback commits wait for their signatures (no ref moved yet):\n${outcome.awaitingSignature.map((c) => `  ${c.ref}  ${c.commit.slice(0, 12)}`).join('\n')}` : '';
      return `no outcome after ${opts.timeout} minute(s); the request stands: follow it with relengd releases --group ${opts.group}${waiting}`;
    }
  }
}
