import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file starts its own anvil; two cores run two files at a time.
    maxWorkers: 2,
    pool: 'forks',
    // One real PostgreSQL cluster for the run; each test file creates its own database in it.
    globalSetup: ['test/support/postgres-global-setup.ts'],
  },
})
