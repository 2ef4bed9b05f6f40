import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Socket and store tests start real servers; two cores do not benefit from more workers.
    maxWorkers: 2,
  },
});
