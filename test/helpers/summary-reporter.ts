import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that CI logs and humans
 * read the same way, and names each skipped test so a skip is never silent.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const skipped: string[] = [];
    const broken: string[] = [];
    for (const module of testModules) {
      // A file that fails to load has no failed test, but is a failure all the same.
      if (module.errors().length > 0) {
        counts.failed++;
        broken.push(module.moduleId.replace(`${process.cwd()}/`, ''));
      }
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else {
          counts.skipped++;
          skipped.push(`${module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`);
        }
      }
    }
    if (broken.length > 0) process.stdout.write(`\ntest files that failed outside any test (${broken.length}):\n${broken.map((b) => `  - ${b}`).join('\n')}\n`);
    if (skipped.length > 0) process.stdout.write(`\nskipped (${skipped.length}):\n${skipped.map((s) => `  - ${s}`).join('\n')}\n`);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
