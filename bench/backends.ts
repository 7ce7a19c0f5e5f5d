import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, startPostgresCluster, superuserClient, type PostgresCluster } from '../test/support/postgres.ts'

/** The store backends the benchmark measures SettleProof on. */
export const BACKENDS = ['lowdb', 'postgres'] as const
export type Backend = (typeof BACKENDS)[number]

/** Where one measured run keeps its state: a temp dir (lowdb's files, the DLQ file) and, on PostgreSQL, a database of its own. */
export type BenchPlace = { dir: string; storage: Record<string, unknown> }

/** The PostgreSQL settings the results name, read from the server itself. */
export type PostgresSettings = Record<'server_version' | 'fsync' | 'synchronous_commit' | 'full_page_writes' | 'wal_level' | 'shared_buffers', string>

export type BenchBackends = {
  /** Runs `fn` on a fresh store of `backend`, removed afterwards (a PostgreSQL database is dropped). */
  withPlace<T>(backend: Backend, fn: (place: BenchPlace) => Promise<T>): Promise<T>
  /** Null when no PostgreSQL cluster was started (a run without a PostgreSQL scenario). */
  postgres: PostgresSettings | null
  /** Stops the cluster and removes its files. */
  close(): Promise<void>
}

/** `storage.pool_size`'s default: the benchmark runs the configuration an operator would start with. */
const POOL_SIZE = 10

/**
 * The backends for one `npm run bench`: lowdb needs nothing; PostgreSQL is a throwaway cluster
 * from Debian's package (test/support/postgres.ts), started here with its production settings
 * (`durable`: fsync and full-page writes on, synchronous commit, unlike the tests' cluster),
 * each run in a database of its own with its own password role, dropped after the run.
 */
export async function startBenchBackends(withPostgres: boolean): Promise<BenchBackends> {
  const cluster: PostgresCluster | null = withPostgres ? await startPostgresCluster({ durable: true }) : null
  let postgres: PostgresSettings | null = null
  if (cluster !== null) {
    const admin = await superuserClient(cluster)
    try {
      const names = ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers'] as const
      const rows = await admin.query<{ name: string; setting: string }>('SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1::text[])', [names])
      postgres = Object.fromEntries(rows.rows.map((r) => [r.name, r.setting])) as PostgresSettings
    } finally {
      await admin.end()
    }
    if (postgres.fsync !== 'on' || postgres.synchronous_commit !== 'on') throw new Error(`the benchmark's PostgreSQL must be durable: fsync ${postgres.fsync}, synchronous_commit ${postgres.synchronous_commit}`)
  }
  return {
    postgres,
    async withPlace(backend, fn) {
      const dir = await mkdtemp(join(tmpdir(), 'settleproof-bench-'))
      try {
        if (backend === 'lowdb') return await fn({ dir, storage: { driver: 'lowdb', path: join(dir, 'settleproof.json') } })
        if (cluster === null) throw new Error('no PostgreSQL cluster was started for this run')
        const database = await createTestDatabase(cluster)
        try {
          return await fn({ dir, storage: { driver: 'postgres', url: database.url, pool_size: POOL_SIZE } })
        } finally {
          const admin = await superuserClient(cluster)
          try {
            await admin.query(`DROP DATABASE ${database.name} WITH (FORCE)`)
            await admin.query(`DROP ROLE ${database.role}`)
          } finally {
            await admin.end()
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
    async close() {
      await cluster?.destroy()
    },
  }
}
