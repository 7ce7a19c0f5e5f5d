/**
 * What a failed PostgreSQL call means for the store:
 * - `unavailable`: the database cannot be reached or cannot serve now (refused, connection cut,
 *   restarting, out of connections, read-only standby): transient, never fatal (SPEC §9);
 * - `conflict`: a serialization failure or deadlock: the transaction is run again from scratch;
 * - `refused`: the database refuses the statement itself (a constraint, bad data, a missing
 *   table): retrying cannot help;
 * - `other`: anything else (a bug), passed on as it is.
 * `reason` is for operators (`/readyz`, logs): built from codes, never from the URL or from
 * message text that could carry it.
 */
export type PostgresFailure = { kind: 'unavailable' | 'conflict' | 'refused' | 'other'; reason: string }

/** SQLSTATEs that mean "cannot serve now", with what an operator reads. */
const UNAVAILABLE_SQLSTATES: Record<string, string> = {
  '57P01': 'the server ended the connection (terminated by an administrator, or shutting down)',
  '57P02': 'the server crashed and ended the connection',
  '57P03': 'the server is starting up or shutting down',
  '57P04': 'the database was dropped',
  '57014': 'a statement ran past statement_timeout',
  '25P03': 'a transaction sat idle past idle_in_transaction_session_timeout',
  '25006': 'the server is read-only (a standby?)',
  '55000': 'the database does not accept connections now',
  '28000': 'the server refused the login (pg_hba.conf)',
  '28P01': 'the server refused the password',
  '3D000': 'the database does not exist',
  '53300': 'the server has no free connection slots',
}

/** Node errnos of a connection that could not be made or was cut. */
const UNAVAILABLE_ERRNOS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was cut',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now',
}

/**
 * Errors node-postgres raises for a dead connection carry no code, only these messages (the
 * library's own text, never the server's or the URL's).
 */
const DRIVER_CONNECTION_MESSAGES: readonly [RegExp, string][] = [
  [/^Connection terminated/, 'the connection was cut'],
  [/^Client has encountered a connection error/, 'the connection was cut'],
  [/^Client was closed/, 'the connection was closed'],
  [/^timeout exceeded when trying to connect/, 'no connection could be made in time'],
  [/^Query read timeout/, 'the server stopped answering'],
]

/** Classifies an error from `pg` (see `PostgresFailure`). */
export function classifyPostgresError(error: unknown): PostgresFailure {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    if (code === '40001') return { kind: 'conflict', reason: `a concurrent transaction conflicted (${code})` }
    if (code === '40P01') return { kind: 'conflict', reason: `a deadlock with a concurrent transaction (${code})` }
    const known = UNAVAILABLE_SQLSTATES[code]
    if (known !== undefined) return { kind: 'unavailable', reason: `${known} (${code})` }
    if (code === '08P01') return { kind: 'other', reason: `the driver and the server disagree on the protocol (${code})` }
    if (code.startsWith('08')) return { kind: 'unavailable', reason: `the connection failed (${code})` }
    if (code.startsWith('53')) return { kind: 'unavailable', reason: `the server is out of resources (${code})` }
    if (code.startsWith('23') || code.startsWith('22') || code.startsWith('42')) return { kind: 'refused', reason: `the database refused the statement (${code})` }
    return { kind: 'other', reason: `the database failed (${code})` }
  }
  if (code !== undefined && UNAVAILABLE_ERRNOS[code] !== undefined) return { kind: 'unavailable', reason: `${UNAVAILABLE_ERRNOS[code]} (${code})` }
  const message = error instanceof Error ? error.message : ''
  for (const [pattern, reason] of DRIVER_CONNECTION_MESSAGES) if (pattern.test(message)) return { kind: 'unavailable', reason }
  const cause = (error as { cause?: unknown })?.cause
  if (cause !== undefined && cause !== error) {
    const inner = classifyPostgresError(cause)
    if (inner.kind === 'unavailable') return inner
  }
  return { kind: 'other', reason: code === undefined ? 'an unexpected error' : `an unexpected error (${code})` }
}
