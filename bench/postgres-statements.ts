import pg from 'pg'

/** Per kind of statement: how many the driver sent and the time until each answered (ms, summed). */
export type StatementProfile = Record<string, { count: number; ms: number }>

/** A statement's kind, for the profile: its verb and table (`INSERT invoices`, `SELECT outbox`), never its values. */
export function statementKind(text: string): string {
  const sql = text.replace(/\s+/g, ' ').trim()
  const verb = /^(WITH|SELECT|INSERT|UPDATE|DELETE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|SET|VACUUM|ANALYZE)\b/i.exec(sql)?.[1]?.toUpperCase() ?? 'OTHER'
  if (['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'SET'].includes(verb)) return verb
  const table = /\b(?:INTO|FROM|UPDATE)\s+([a-z_]+)/i.exec(sql)?.[1] ?? ''
  if (verb === 'SELECT' && table === 'invoices' && /status = 'open'/.test(sql) && /unnest/.test(sql)) return 'SELECT open invoices (matching)'
  return `${verb} ${table}`.trim()
}

/**
 * Counts and times, in this process, every statement node-postgres sends (promise and
 * callback forms: the pool's `query` calls the client's with a callback), by kind. Timed from
 * the call to the answer, so the time includes waiting behind the connection's earlier
 * statements and the round trip, and statements on several connections may overlap.
 */
export function profilePostgresStatements(): { profile: StatementProfile; stop(): void } {
  const original = pg.Client.prototype.query
  const profile: StatementProfile = {}
  const record = (text: unknown, started: number, error?: unknown) => {
    const kind = statementKind(typeof text === 'string' ? text : String((text as { text?: unknown })?.text ?? ''))
    const entry = (profile[kind] ??= { count: 0, ms: 0 })
    entry.count++
    entry.ms += performance.now() - started
    // Failed statements by SQLSTATE (40001: a serialization conflict, the transaction runs again).
    const code = (error as { code?: unknown } | undefined)?.code
    if (error !== undefined) (profile[`failed ${typeof code === 'string' ? code : 'without a code'}`] ??= { count: 0, ms: 0 }).count++
  }
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const started = performance.now()
    const last = args.at(-1)
    if (typeof last === 'function') {
      args[args.length - 1] = (...results: unknown[]) => {
        record(args[0], started, results[0] ?? undefined)
        return (last as (...a: unknown[]) => unknown)(...results)
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args)
    }
    const result = (original as (...a: unknown[]) => unknown).apply(this, args)
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      ;(result as Promise<unknown>).then(
        () => record(args[0], started),
        (error: unknown) => record(args[0], started, error),
      )
    }
    return result
  } as typeof original
  return {
    profile,
    stop: () => {
      pg.Client.prototype.query = original
    },
  }
}

/** The profile rounded for the results file, largest time first. */
export function roundedProfile(profile: StatementProfile): StatementProfile {
  return Object.fromEntries(
    Object.entries(profile)
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([kind, { count, ms }]) => [kind, { count, ms: Math.round(ms) }]),
  )
}
