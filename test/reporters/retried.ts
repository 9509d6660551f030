// Vitest reporter: names every test that passed only on a retry, so a flaky test is seen, not hidden.
import { relative } from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

export default class RetriedReporter implements Reporter {
  private readonly retried: string[] = [];

  onTestCaseResult(test: TestCase): void {
    const d = test.diagnostic();
    if (d && d.retryCount > 0)
      this.retried.push(
        `${relative(process.cwd(), test.module.moduleId)} > ${test.fullName} ` +
          `(${test.result().state} after ${d.retryCount} retr${d.retryCount === 1 ? 'y' : 'ies'})`,
      );
  }

  onTestRunEnd(): void {
    if (this.retried.length === 0) return;
    console.log(`\n${this.retried.length} test(s) needed a retry (flaky; fix them):`);
    for (const line of this.retried) console.log(`  ${line}`);
  }
}
