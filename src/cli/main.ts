#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../errors.ts';
import { registerApprove } from './commands/approve.ts';
import { registerCompose } from './commands/compose.ts';
import { registerConfig } from './commands/config.ts';
import { registerDemo } from './commands/demo.ts';
import { registerEvents } from './commands/events.ts';
import { registerJobs } from './commands/jobs.ts';
import { registerPromote } from './commands/promote.ts';
import { registerPublish } from './commands/publish.ts';
import { registerReleases } from './commands/releases.ts';
import { registerReplay } from './commands/replay.ts';
import { registerRollback } from './commands/rollback.ts';
import { registerExport } from './commands/export.ts';
import { registerSchemas } from './commands/schemas.ts';
import { registerStart } from './commands/start.ts';
import { registerStatus } from './commands/status.ts';
import { exitCodeFor } from './context.ts';
import { relengdVersion } from './version.ts';

/** The relengd command line. Exit codes: 0 ok, 1 failure, 2 usage or configuration error. */
export function buildProgram(): Command {
  const program = new Command('relengd')
    .description('event-driven release automation for OSTree-based operating systems')
    .option('-c, --config <file>', 'YAML configuration (default: $RELENGD_CONFIG, else built-in defaults)')
    // `--version` alone prints relengd's version (see main); not a commander option, which would
    // take `promote --version V` for itself.
    .addHelpText('after', '\nrelengd --version prints the version.')
    // Inherited by every verb registered below: each verb's --help lists --config too.
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .exitOverride();
  registerStart(program);
  registerDemo(program);
  registerPublish(program);
  registerEvents(program);
  registerJobs(program);
  registerStatus(program);
  registerApprove(program);
  registerPromote(program);
  registerRollback(program);
  registerReleases(program);
  registerCompose(program);
  registerReplay(program);
  registerExport(program);
  registerConfig(program);
  registerSchemas(program);
  overrideExitEverywhere(program);
  return program;
}

/** Commander exits the process by default; we want its errors as exceptions, mapped to our exit codes. */
function overrideExitEverywhere(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) overrideExitEverywhere(sub);
}

async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${relengdVersion()}\n`);
    return;
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = exitCodeFor(error);
      return;
    }
    const prefix = error instanceof ConfigError ? 'configuration error' : 'error';
    process.stderr.write(`relengd: ${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = exitCodeFor(error);
  }
}

await main(process.argv);
