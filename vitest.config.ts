import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'agent/**/*.test.ts', 'collector/**/*.test.ts', 'shared/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Lab and integration tests share loopback ports and network namespaces; run files one at a time.
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
