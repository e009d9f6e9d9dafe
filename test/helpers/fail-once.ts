/**
 * `node fail-once.ts FLAG_FILE COMMAND [ARGS...]`: the first time (FLAG_FILE absent) creates
 * FLAG_FILE and exits 1 without running anything; every later time runs the command (output
 * inherited) and exits as it did. A job's command that fails once and then succeeds: what an
 * operator's retry is for.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';

const [flag, command, ...args] = process.argv.slice(2);
if (!flag || !command) {
  console.error('usage: fail-once.ts FLAG_FILE COMMAND [ARGS...]');
  process.exit(2);
}
if (!existsSync(flag)) {
  writeFileSync(flag, '');
  console.error(`fail-once: failing this first time (${flag} now exists)`);
  process.exit(1);
}
const run = spawnSync(command, args, { stdio: 'inherit' });
process.exit(run.status ?? 1);
