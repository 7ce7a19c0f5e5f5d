import type { TestProject } from 'vitest/node'
import { startPostgresCluster } from './postgres.ts'

/**
 * Starts one real PostgreSQL cluster for the whole vitest run (test/support/postgres.ts) and
 * hands its description to the test files (`inject('postgres')`); each file creates its own
 * database in it. Stopped and removed when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPostgresCluster()
  project.provide('postgres', { binDir: cluster.binDir, dir: cluster.dir, port: cluster.port })
  return () => cluster.destroy()
}
