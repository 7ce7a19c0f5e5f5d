import pg from 'pg'
import { StoreUrlError } from './errors.ts'

/** A statement running longer is cancelled (57014): a stuck query must not hold a range or a delivery forever. */
export const STATEMENT_TIMEOUT_MS = 30_000
/** A transaction left open this long (a process paused or cut off mid-transaction) is ended by the server, releasing its locks. */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
/** How long acquiring a connection may take before the database counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 10_000
/** Idle pooled connections are closed after this. */
const IDLE_CONNECTION_MS = 30_000
/** TCP keepalive probes start after this much silence, so a peer that vanished (no FIN, no RST) is noticed. */
const KEEPALIVE_AFTER_MS = 10_000

/**
 * Where the database is, for messages and `location`: `postgres://host:port/database`, never
 * the user, password or query (`?sslmode=…&password=…`), which a URL may carry.
 * @throws {StoreUrlError} not a postgres:// or postgresql:// URL.
 */
export function postgresLocation(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new StoreUrlError('it does not parse as a URL') // the URL itself is never quoted
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new StoreUrlError(`the scheme must be postgres: or postgresql:, not ${parsed.protocol}`)
  const host = parsed.hostname === '' ? 'localhost' : parsed.hostname
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  return `postgres://${host}:${parsed.port === '' ? '5432' : parsed.port}/${database}`
}

/**
 * The settings of every connection: the URL's (host, credentials, TLS), plus the server-side
 * timeouts, the application name operators see in `pg_stat_activity`, and UTC.
 */
export function connectionConfig(url: string): pg.ClientConfig {
  postgresLocation(url) // refuses what is not a PostgreSQL URL before pg parses it
  return {
    connectionString: url,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'settleproof',
    options: '-c TimeZone=UTC',
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_AFTER_MS,
  }
}

/**
 * A pool of at most `poolSize` connections. A connection the server ends while it sits in the
 * pool, or while a query runs, raises an `error` event on its client; `onConnectionError`
 * receives it (an unhandled one would kill the process: the database going away is not fatal).
 */
export function createPool(url: string, poolSize: number, onConnectionError: (error: unknown) => void): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(url), max: poolSize, idleTimeoutMillis: IDLE_CONNECTION_MS })
  pool.on('error', onConnectionError)
  pool.on('connect', (client) => client.on('error', onConnectionError))
  return pool
}

/** A client of its own, outside the pool (advisory session locks, one-off reads). */
export function createClient(url: string, onConnectionError: (error: unknown) => void): pg.Client {
  const client = new pg.Client(connectionConfig(url))
  client.on('error', onConnectionError)
  return client
}
