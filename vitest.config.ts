import { defineConfig } from 'vitest/config';

// Integration tests start real processes; run files one at a time on these 2-core machines
// so timing-sensitive promises (cancel within 1 s, lease expiry) are not starved.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
