import { SettleProofError } from '../../errors.ts'

/** The database holds a schema a later release wrote: this release would misread it. */
export class StoreSchemaTooNewError extends SettleProofError {
  constructor(location: string, found: number, known: number) {
    super('STORE_SCHEMA_TOO_NEW', `database ${location} has schema version ${found}, newer than this release knows (${known}): run the release that migrated it, or a later one`)
  }
}

/** `storage.url` is not a PostgreSQL URL. The URL itself is never quoted: it carries a password. */
export class StoreUrlError extends SettleProofError {
  constructor(reason: string) {
    super('STORE_URL_INVALID', `storage.url is not a PostgreSQL URL (${reason}): use postgres://user:password@host:5432/database`)
  }
}

/**
 * The database refused a statement for good: a constraint (say, a second settlement of an
 * invoice), bad data or a missing table. The server's message names the constraint; it never
 * holds the URL.
 */
export class StoreRefusedError extends SettleProofError {
  constructor(error: unknown) {
    const { code, message, constraint } = error as { code?: string; message?: string; constraint?: string }
    super('STORE_REFUSED', `the database refused the write: ${message ?? 'no message'} (${code ?? 'no code'}${constraint === undefined ? '' : `, constraint ${constraint}`})`, { cause: error })
  }
}
