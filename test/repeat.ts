/**
 * `npm run test:repeat [-- RUNS [PATH...]]`: runs the integration and end-to-end suites (or the
 * given paths) RUNS times in a row (default 10), stopping at the first failing run. One line per
 * run, then the total time. A flaky test shows up here rather than on someone else's CI run.
 *
 * Each run's output goes to a log file; a failing run's is named and its end printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

const [first, ...rest] = process.argv.slice(2);
const runs = first === undefined ? 10 : Number(first);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`usage: node test/repeat.ts [RUNS] [PATH...]  (RUNS: a whole number >= 1, not ${JSON.stringify(first)})`);
  process.exit(2);
}
const paths = rest.length > 0 ? rest : ['test/integration', 'test/e2e'];
const logs = mkdtempSync(join(tmpdir(), 'relengd-repeat-'));

/** Plain logs: vitest colours whenever FORCE_COLOR is set at all, even to 0. */
function withoutForceColor(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _, ...rest } = env;
  return rest;
}

/** Runs vitest once, output into `logPath`; resolves with its exit code. */
function runOnce(logPath: string): Promise<number | null> {
  const fd = openSync(logPath, 'w');
  const child = spawn(process.execPath, [vitest, 'run', ...paths], { cwd: projectRoot, stdio: ['ignore', fd, fd], env: { ...withoutForceColor(process.env), NO_COLOR: '1' } });
  closeSync(fd);
  return new Promise((resolveRun, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolveRun(code));
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log(`${runs} runs of vitest run ${paths.join(' ')}; logs in ${logs}`);
const started = performance.now();
let failed = false;
for (let run = 1; run <= runs; run++) {
  const logPath = join(logs, `run-${run}.log`);
  const runStarted = performance.now();
  const code = await runOnce(logPath);
  const output = readFileSync(logPath, 'utf8');
  // The summary reporter's last line: "N passed, N failed, N skipped".
  const summary = output.match(/^\d+ passed, \d+ failed, \d+ skipped$/gm)?.at(-1) ?? 'no summary line';
  console.log(`run ${run}/${runs}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${seconds(performance.now() - runStarted)}: ${summary}`);
  if (code !== 0) {
    console.log(`\n--- end of ${logPath} ---\n${output.split('\n').slice(-60).join('\n')}`);
    failed = true;
    break;
  }
}
console.log(`total ${seconds(performance.now() - started)}`);
process.exitCode = failed ? 1 : 0;
