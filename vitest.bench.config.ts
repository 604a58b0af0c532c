import { defineConfig } from 'vitest/config';

// Benchmarks: each bench/*.bench.ts measures and writes its numbers to bench/results/<name>.json.
export default defineConfig({
  test: {
    root: '.',
    include: ['bench/**/*.bench.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
