import type { Reporter, TestCase, TestModule } from 'vitest/node';

/** Why a skipped test did not run: the reason set with the skip (needsShared), the note given to ctx.skip, or none. */
function skipReason(test: TestCase): string {
  const result = test.result();
  const given = test.meta().skipReason ?? (result.state === 'skipped' ? result.note : undefined);
  if (given !== undefined) return given;
  return test.module.state() === 'failed' ? 'not run: a hook of their file failed (counted as a failure)' : 'no reason given';
}

/**
 * Ends the run with the plain `N passed, N failed` line that CI reads (`, N skipped` when some were), preceded by
 * one line per reason tests were skipped for.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const reasons = new Map<string, number>();
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else {
          skipped++;
          const reason = skipReason(test);
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
      }
      // A file that failed to load, or whose hooks failed (its tests then report as skipped), is a failure too.
      if (module.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    const lines = [...reasons].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `skipped ${count}: ${reason}`);
    if ([...reasons.keys()].some((reason) => reason.includes('../shared/'))) {
      lines.push('(../shared holds the interop fixtures and the sigstore-conformance suite; README.md, Development, says how to get it)');
    }
    process.stdout.write(`\n${lines.map((line) => `${line}\n`).join('')}${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
