import type { TestProject } from 'vitest/node'
import { startPostgresCluster } from './postgres.ts'
import { findPostgresBinDir } from './system-tool.ts'

/**
 * Starts one real PostgreSQL cluster for the whole vitest run (test/support/postgres.ts) and
 * hands its description to the test files (`inject('postgres')`); each file creates its own
 * database in it. Stopped and removed when the run ends. Without PostgreSQL installed the other
 * test files still run, and `createTestDatabase` fails saying what to install (never a skip).
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (findPostgresBinDir() === undefined) {
    project.provide('postgres', null)
    return undefined
  }
  const cluster = await startPostgresCluster()
  project.provide('postgres', { binDir: cluster.binDir, dir: cluster.dir, port: cluster.port })
  return () => cluster.destroy()
}
