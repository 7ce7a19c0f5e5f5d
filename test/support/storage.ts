import { join } from 'node:path'
import { createTestDatabase, type PostgresClusterInfo } from './postgres.ts'

/** The store backends every end-to-end scenario that matters runs on (issue 10 item 4). */
export const BACKENDS = ['lowdb', 'postgres'] as const
export type Backend = (typeof BACKENDS)[number]

/** The `storage:` section of a configuration document, as skill.yaml holds it. */
export type StorageDocument = { path: string } | { driver: 'postgres'; url: string }

/**
 * A store of its own for one daemon configuration: a lowdb file in `dir`, or a fresh database
 * (and role, with a real password) in the run's shared PostgreSQL cluster, or in `cluster`.
 * Both are real: the file on disk, the server from Debian's `postgresql` package.
 */
export async function testStorage(backend: Backend, dir: string, cluster?: PostgresClusterInfo): Promise<StorageDocument> {
  if (backend === 'lowdb') return { path: join(dir, 'settleproof.json') }
  const database = await createTestDatabase(cluster)
  return { driver: 'postgres', url: database.url }
}
