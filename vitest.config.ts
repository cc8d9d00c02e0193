import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real PostgreSQL servers and child processes: give them room on a shared 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration suites each start their own PostgreSQL; two at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
    fileParallelism: true,
  },
})
