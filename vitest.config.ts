import { defineConfig } from 'vitest/config';

// Tests mirror the source folders under test/; end-to-end scenarios live in test/e2e/. A file named
// *.integration.test.ts starts real processes or servers (the collector over HTTP, iperf3, influxd,
// Chromium, the lab); every other test runs in-process and fast. `npm run test:unit` runs only those:
// WANWATCH_TESTS=unit narrows the set.
const unitOnly = process.env.WANWATCH_TESTS === 'unit';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: unitOnly
      ? ['test/**/*.integration.test.ts', 'test/e2e/**', '**/node_modules/**']
      : ['**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Lab and integration tests share loopback ports and network namespaces; run files one at a time.
    fileParallelism: unitOnly,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
