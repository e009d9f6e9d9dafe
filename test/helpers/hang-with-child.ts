/**
 * `node hang-with-child.ts PIDS_FILE`: starts a child that ignores SIGTERM, writes "<own pid>
 * <child pid>" to PIDS_FILE and runs until killed, as does the child. A job's command only the
 * end of its whole process group stops: SIGTERM ends this one, never its child.
 */
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';

const [pidsFile] = process.argv.slice(2);
if (!pidsFile) {
  console.error('usage: hang-with-child.ts PIDS_FILE');
  process.exit(2);
}
const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 60_000);"], { stdio: ['ignore', 'pipe', 'inherit'] });
// Once the child ignores SIGTERM; written whole or not at all, so a test polling for the file never reads half of it.
child.stdout.once('data', () => {
  writeFileSync(`${pidsFile}.tmp`, `${process.pid} ${child.pid}\n`);
  renameSync(`${pidsFile}.tmp`, pidsFile);
  console.log(`hang-with-child: running as ${process.pid}, child ${child.pid}`);
});
setInterval(() => {}, 60_000);
