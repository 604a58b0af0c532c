import { defineConfig } from 'vitest/config';

// Unit tests live beside the code (*.test.ts); integration tests under test/integration.
// End-to-end browser tests run with Playwright (playwright.config.ts), benchmarks with vitest.bench.config.ts.
export default defineConfig({
  test: {
    root: '.',
    include: [
      'lib/**/*.test.ts',
      'lint/**/*.test.ts',
      'core/**/*.test.ts',
      'lib/**/*.test.ts',
      'cli/**/*.test.ts',
      'agents/**/*.test.ts',
      'electron/**/*.test.ts',
      'renderer/**/*.test.ts',
      'test/integration/**/*.test.ts',
      'test/helpers/**/*.test.ts',
    ],
    exclude: ['node_modules/**', 'dist/**', 'test/e2e/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
