import type { Reporter, TestCase, TestModule } from 'vitest/node';
import type { FuzzMeta } from './harness.ts';

/**
 * `npm run fuzz`'s summary: one line per property (cases, time, seed, known bugs hit), then the
 * totals and the wall-clock time of the run.
 */
export default class FuzzReporter implements Reporter {
  #started = performance.now();
  #lines: { name: string; line: string }[] = [];
  #totals = { properties: 0, cases: 0, failed: 0 };

  onTestRunStart(): void {
    this.#started = performance.now();
  }

  onTestCaseResult(test: TestCase): void {
    const fuzz: FuzzMeta | undefined = test.meta().fuzz;
    const state = test.result().state;
    if (fuzz === undefined && state !== 'failed') return;
    const file = test.module.moduleId.replace(/^.*\/test\/fuzz\//, '');
    const name = `${file} > ${test.fullName}`;
    this.#totals.properties++;
    if (state === 'failed') this.#totals.failed++;
    const cases = fuzz ? `${fuzz.cases.toLocaleString('en-US')} cases` : 'no cases recorded';
    const time = fuzz ? `${(fuzz.ms / 1000).toFixed(1)} s` : '-';
    const known = fuzz && Object.keys(fuzz.knownBugs).length > 0 ? `, known bugs hit: ${Object.entries(fuzz.knownBugs).map(([id, n]) => `${id} x${n}`).join(', ')}` : '';
    const seed = fuzz ? `, seed ${fuzz.seed}` : '';
    const total = fuzz ? Object.values(fuzz.outcomes).reduce((a, b) => a + b, 0) : 0;
    const outcomes = fuzz && total > 0 ? ` [${Object.entries(fuzz.outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${((100 * n) / total).toFixed(n / total < 0.01 ? 2 : 0)}%`).join(', ')}]` : '';
    this.#totals.cases += fuzz?.cases ?? 0;
    this.#lines.push({ name, line: `${state === 'failed' ? 'FAIL' : 'ok  '} ${name}: ${cases}, ${time}${seed}${known}${outcomes}` });
  }

  onTestRunEnd(_modules: ReadonlyArray<TestModule>): void {
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    const lines = this.#lines.sort((a, b) => a.name.localeCompare(b.name)).map((l) => l.line);
    process.stdout.write(`\nfuzz properties:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    const { properties, cases, failed } = this.#totals;
    process.stdout.write(`fuzz: ${properties} properties, ${cases.toLocaleString('en-US')} cases, ${failed} failed, ${seconds} s\n`);
  }
}
