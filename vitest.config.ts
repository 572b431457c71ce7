import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['tollgate-source'] },
  ssr: { resolve: { conditions: ['tollgate-source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
