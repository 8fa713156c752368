import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // End-to-end suites spawn daemons and bind ports; two cores, so keep the pool small.
    maxWorkers: 2,
    restoreMocks: true,
  },
});
