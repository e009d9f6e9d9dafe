/**
 * `node gated-command.ts GATE_FILE COMMAND [ARGS...]`: waits until GATE_FILE exists, then runs the
 * command (output inherited) and ends as it ended. A test puts it in front of a job's command to
 * hold the command at its start while the test does something meanwhile (kill the daemon), rather
 * than making the command slow and hoping the test is quicker.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const [gate, command, ...args] = process.argv.slice(2);
if (!gate || !command) {
  console.error('usage: gated-command.ts GATE_FILE COMMAND [ARGS...]');
  process.exit(2);
}
while (!existsSync(gate)) await new Promise((resolve) => setTimeout(resolve, 20));
const child = spawn(command, args, { stdio: 'inherit' });
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
