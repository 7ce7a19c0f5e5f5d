import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { inject } from 'vitest'
import { freePort } from './anvil.ts'
import { findPostgresBinDir } from './system-tool.ts'

/**
 * A real PostgreSQL server for the tests: a throwaway cluster from Debian's `postgresql`
 * package in a temp dir, listening on a free 127.0.0.1 port (password auth) and on a unix
 * socket in the temp dir (the `postgres` superuser, trusted). Never a mock.
 *
 * One cluster serves a whole vitest run (test/support/postgres-global-setup.ts starts it and
 * `provide`s this description); each test file takes its own database with `createTestDatabase`.
 * A test that stops or kills the server starts its own cluster with `startPostgresCluster`.
 */
export type PostgresClusterInfo = {
  binDir: string
  /** The temp dir: data directory, log and unix socket. */
  dir: string
  port: number
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Null when PostgreSQL is not installed (test/support/postgres-global-setup.ts). */
    postgres: PostgresClusterInfo | null
  }
}

export type PostgresCluster = PostgresClusterInfo & {
  /** Starts the server again on the same port and data (after `stop`). */
  start(): Promise<void>
  /** `fast` lets it finish cleanly; `immediate` is a crash (recovery from the WAL on the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  /** Stops the server and removes every file. */
  destroy(): Promise<void>
}

const isRoot = process.getuid?.() === 0
/** Debian's server refuses to run as root: its tools run as the `postgres` user then. */
const SERVER_USER = 'postgres'
/** Waits are long: the machine is busy. */
const START_TIMEOUT_S = 60

function run(command: string, args: string[], cwd: string): Promise<string> {
  const [file, argv] = isRoot ? ['runuser', ['-u', SERVER_USER, '--', command, ...args]] : [command, args]
  return new Promise((resolve, reject) => {
    execFile(file, argv, { cwd, env: { ...process.env, LC_ALL: 'C' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || stdout || error.message}`))
      else resolve(stdout)
    })
  })
}

async function serverUserIds(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8')
  const line = passwd.split('\n').find((entry) => entry.startsWith(`${SERVER_USER}:`))
  if (line === undefined) throw new Error(`there is no ${SERVER_USER} user: install Debian's postgresql package (npm test does it when run as root)`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

function requireBinDir(): string {
  const binDir = findPostgresBinDir()
  if (binDir === undefined) throw new Error("PostgreSQL is not installed: npm test installs Debian's postgresql first (node scripts/test-tools.ts); run that and read its output")
  return binDir
}

/**
 * Creates the cluster (initdb) in a new temp dir and starts it on a free port. `durable` keeps
 * PostgreSQL's production settings (fsync, full-page writes: every commit waits for the disk),
 * for measurements (`npm run bench`); the tests' default turns them off.
 */
export async function startPostgresCluster(options: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const binDir = requireBinDir()
  const dir = await mkdtemp(join(tmpdir(), 'settleproof-pg-'))
  try {
    if (isRoot) {
      const { uid, gid } = await serverUserIds()
      await chown(dir, uid, gid)
    }
    const data = join(dir, 'data')
    await run(join(binDir, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', ...(options.durable ? [] : ['--no-sync']), '--no-instructions'], dir)
    // fsync off for tests: they stop the server, never the machine, so what a commit wrote
    // reaches the OS either way and survives a server crash; only an OS crash would lose it.
    const durability = options.durable ? [] : ['fsync = off', 'full_page_writes = off']
    const settings = ["listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, 'max_connections = 200', ...durability, "log_min_messages = 'warning'"]
    await appendFile(join(data, 'postgresql.conf'), `\n# settleproof test cluster\n${settings.join('\n')}\n`)
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      const cluster = clusterAt({ binDir, dir, port })
      try {
        await cluster.start()
        return cluster
      } catch (error) {
        if (attempt >= 3) throw error // the port was taken between freePort() and the server's bind
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/** The cluster described by `info` (from `inject('postgres')`, or one started here). */
export function clusterAt(info: PostgresClusterInfo): PostgresCluster {
  const { binDir, dir, port } = info
  const data = join(dir, 'data')
  const pgCtl = join(binDir, 'pg_ctl')
  return {
    ...info,
    start: async () => {
      await run(pgCtl, ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', String(START_TIMEOUT_S), '-o', `-p ${port}`, 'start'], dir)
    },
    stop: async (mode = 'fast') => {
      await run(pgCtl, ['-D', data, '-m', mode, '-w', '-t', String(START_TIMEOUT_S), 'stop'], dir)
    },
    destroy: async () => {
      await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], dir).catch(() => undefined) // already stopped
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A connection as the cluster's superuser, over the unix socket (trusted): for setup and for bypassing the code under test. */
export async function superuserClient(cluster: PostgresClusterInfo, database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({ host: cluster.dir, port: cluster.port, user: 'postgres', database })
  client.on('error', () => undefined) // a test that kills connections kills this one too
  await client.connect()
  return client
}

/** A database of its own for one test file, owned by a role of its own that logs in with a password over TCP. */
export type TestDatabase = {
  /** `postgres://role:password@127.0.0.1:port/name`: carries a real password, like a production URL. */
  url: string
  name: string
  role: string
  password: string
  cluster: PostgresClusterInfo
  /** Runs SQL in this database as the superuser (over the socket): what the code under test cannot prevent. */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>
  /** Ends every session of this database's role (`pg_terminate_backend`), as an operator or a failover would. */
  terminateSessions(): Promise<number>
  /** Makes the server refuse (or accept again) new connections to this database (`ALLOW_CONNECTIONS`). */
  refuseConnections(refuse: boolean): Promise<void>
}

let created = 0

function sharedCluster(): PostgresClusterInfo {
  const cluster = inject('postgres')
  if (cluster === null) requireBinDir() // throws, saying what to install
  return cluster!
}

/** Creates a fresh database and role in the run's shared cluster (or `cluster`). */
export async function createTestDatabase(cluster: PostgresClusterInfo = sharedCluster()): Promise<TestDatabase> {
  const name = `settleproof_${process.pid}_${++created}_${randomBytes(3).toString('hex')}`
  const password = randomBytes(18).toString('base64url')
  const admin = await superuserClient(cluster)
  try {
    await admin.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`)
    await admin.query(`CREATE DATABASE ${name} OWNER ${name}`)
  } finally {
    await admin.end()
  }
  const sql = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const client = await superuserClient(cluster, name)
    try {
      return await client.query<R>(text, values)
    } finally {
      await client.end()
    }
  }
  return {
    url: `postgres://${name}:${password}@127.0.0.1:${cluster.port}/${name}`,
    name,
    role: name,
    password,
    cluster,
    sql,
    refuseConnections: async (refuse) => {
      const admin = await superuserClient(cluster) // not from inside the database itself
      try {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${refuse ? 'false' : 'true'}`)
      } finally {
        await admin.end()
      }
    },
    terminateSessions: async () => {
      const admin = await superuserClient(cluster) // from outside: the database may be refusing connections
      try {
        const result = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name])
        return result.rowCount ?? 0
      } finally {
        await admin.end()
      }
    },
  }
}
