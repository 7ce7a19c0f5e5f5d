import type pg from 'pg'
import type { ChainState } from '../../chain/chain-state.ts'
import type { Logger } from '../../ops/logger.ts'
import type { Invoice } from '../../settlement/invoice.ts'
import type { InvoiceCursor, InvoiceListQuery } from '../../settlement/invoice-list-query.ts'
import { StoreClosedError, StoreUnavailableError, StoreWriteError } from '../errors.ts'
import type { DeadLetters, Store, StoreAvailability, StoreCounts, StoreReader, StoreTx } from '../store.ts'
import { DatabaseAvailability } from './availability.ts'
import { classifyPostgresError } from './classify-error.ts'
import { createClient, createPool, postgresLocation } from './connection.ts'
import { PostgresDeadLetters } from './dead-letters.ts'
import { StoreRefusedError, StoreSchemaTooNewError } from './errors.ts'
import { migrate, readSchemaVersion, SCHEMA_VERSION } from './migrations.ts'
import { selectChainState, selectCounts, selectInvoicePage, selectInvoices, type Queryable } from './queries.ts'
import { MAX_TRANSACTION_ATTEMPTS, readerOver, runTransaction, StagedWrites, TransactionFailed } from './transaction.ts'

export type OpenPostgresStoreParameters = {
  /** `storage.url`: a secret (it carries the password); it never reaches a message or a log line. */
  url: string
  /** `storage.pool_size`: connections this process opens at most. */
  poolSize: number
  /** `dlq.path`: this process's audit trail of dead letters (the letters themselves are in the database). */
  dlqPath: string
  logger: Logger
}

/** What callers of a query need to hear of the database's health. */
type Health = { reachable(): void; unreachable(reason: string): void }

/**
 * Queries on `pool` that report an unreachable database as `StoreUnavailableError` (telling
 * `health`), and a success as reachable.
 */
function guardedQueries(pool: pg.Pool, health: Health): Queryable {
  return {
    query: async (text, values) => {
      try {
        const result = await pool.query(text, values)
        health.reachable()
        return result
      } catch (error) {
        const failure = classifyPostgresError(error)
        if (failure.kind !== 'unavailable') throw error
        health.unreachable(failure.reason)
        throw new StoreUnavailableError(failure.reason, { cause: error })
      }
    },
  }
}

/** Connects and migrates, or says why it could not (the pool is closed again then). */
async function prepareSchema(pool: pg.Pool, location: string): Promise<void> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (error) {
    const failure = classifyPostgresError(error)
    throw new StoreUnavailableError(failure.kind === 'unavailable' ? failure.reason : 'no connection could be made', { cause: error })
  }
  let broken = false
  try {
    await migrate(client, location)
  } catch (error) {
    const failure = classifyPostgresError(error)
    broken = failure.kind === 'unavailable'
    throw broken ? new StoreUnavailableError(failure.reason, { cause: error }) : error
  } finally {
    client.release(broken ? true : undefined)
  }
}

/**
 * Opens the PostgreSQL store: connects, applies the migrations this release brings (serialized
 * between processes), and returns the store. Several processes may open the same database.
 * @throws {StoreUrlError} `url` is not a PostgreSQL URL.
 * @throws {StoreUnavailableError} the database cannot be reached (or refuses the login) now.
 * @throws {StoreSchemaTooNewError} a later release migrated the database.
 */
export async function openPostgresStore(parameters: OpenPostgresStoreParameters): Promise<Store> {
  const location = postgresLocation(parameters.url)
  const logger = parameters.logger.child({ component: 'store' })
  let availability: DatabaseAvailability | undefined
  const pool = createPool(parameters.url, parameters.poolSize, () => availability?.suspect())
  availability = new DatabaseAvailability(async () => {
    try {
      await pool.query('SELECT 1')
      return null
    } catch (error) {
      return classifyPostgresError(error).reason
    }
  }, logger)
  try {
    await prepareSchema(pool, location)
  } catch (error) {
    availability.stop()
    await pool.end().catch(() => undefined)
    throw error
  }
  const q = guardedQueries(pool, availability)
  const deadLetters = new PostgresDeadLetters({ q, dlqPath: parameters.dlqPath, lockClient: () => createClient(parameters.url, () => undefined) })
  return new PostgresStore(location, pool, q, availability, deadLetters)
}

/**
 * Opens the dead letters alone (`dlq list`, `dlq replay`, while the daemon holds the store).
 * @throws {StoreUnavailableError} @throws {StoreSchemaTooNewError} as `openPostgresStore`.
 */
export async function openPostgresDeadLetters(parameters: { url: string; dlqPath: string }): Promise<DeadLetters> {
  const location = postgresLocation(parameters.url)
  const pool = createPool(parameters.url, 2, () => undefined)
  try {
    await prepareSchema(pool, location)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw error
  }
  const q = guardedQueries(pool, { reachable: () => undefined, unreachable: () => undefined })
  return new PostgresDeadLetters({ q, dlqPath: parameters.dlqPath, lockClient: () => createClient(parameters.url, () => undefined), release: () => pool.end() })
}

/**
 * Reads the checkpoint and the totals without migrating or holding anything (`settleproof
 * status`); null for a database SettleProof never wrote to.
 * @throws {StoreUnavailableError} @throws {StoreSchemaTooNewError}
 */
export async function readPostgresSnapshot(parameters: { url: string }): Promise<{ chain: ChainState | null; counts: StoreCounts } | null> {
  const location = postgresLocation(parameters.url)
  const client = createClient(parameters.url, () => undefined)
  try {
    await client.connect()
    const version = await readSchemaVersion(client)
    if (version === 0) return null
    if (version > SCHEMA_VERSION) throw new StoreSchemaTooNewError(location, version, SCHEMA_VERSION)
    const chain = await selectChainState(client)
    const written = await client.query<{ written: boolean }>('SELECT EXISTS (SELECT 1 FROM invoices) OR EXISTS (SELECT 1 FROM outbox) AS written')
    if (chain === null && written.rows[0]?.written !== true) return null
    return { chain, counts: await selectCounts(client, Date.now()) }
  } catch (error) {
    const failure = classifyPostgresError(error)
    throw failure.kind === 'unavailable' ? new StoreUnavailableError(failure.reason, { cause: error }) : error
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * The PostgreSQL backend. Every transaction is SERIALIZABLE and retried on conflict
 * (transaction.ts), so any number of processes may share the database. Reads outside a
 * transaction each see the latest commit. The database going away is never fatal: the call
 * fails with `StoreUnavailableError`, `availability()` says why until a query succeeds again
 * (a background probe brings it back by itself), and nothing committed is lost. A connection
 * lost during COMMIT leaves the outcome unknown to the caller, who is told the store was
 * unavailable: it reads again (SPEC §9: what was not committed is read again), and the
 * constraints make a repeat of what did commit harmless. Only a write the database refuses for
 * good (a constraint: a bug tried to settle twice) fails the store.
 */
class PostgresStore implements Store {
  readonly location: string
  readonly failed: Promise<never>
  readonly deadLetters: DeadLetters
  #rejectFailed!: (error: StoreWriteError) => void
  readonly #pool: pg.Pool
  readonly #q: Queryable
  readonly #availability: DatabaseAvailability
  #fatal: StoreWriteError | null = null
  #closed = false

  constructor(location: string, pool: pg.Pool, q: Queryable, availability: DatabaseAvailability, deadLetters: DeadLetters) {
    this.location = location
    this.#pool = pool
    this.#q = q
    this.#availability = availability
    this.deadLetters = deadLetters
    this.failed = new Promise<never>((_, reject) => (this.#rejectFailed = reject))
    this.failed.catch(() => undefined) // observed by whoever races it; never an unhandled rejection
  }

  async transact<T>(fn: (tx: StoreTx) => Promise<T> | T): Promise<T> {
    this.#assertUsable()
    try {
      const result = await runTransaction(() => this.#connect(), fn)
      this.#availability.reachable()
      return result
    } catch (error) {
      if (!(error instanceof TransactionFailed)) throw error
      const { failure } = error
      if (failure.kind === 'function') throw failure.error
      if (failure.failure.kind === 'unavailable') {
        this.#availability.unreachable(failure.failure.reason)
        throw new StoreUnavailableError(failure.failure.reason, { cause: failure.error })
      }
      if (failure.failure.kind === 'conflict') throw new StoreUnavailableError(`the transaction conflicted with concurrent ones ${MAX_TRANSACTION_ATTEMPTS} times in a row`, { cause: failure.error })
      if (failure.failure.kind === 'refused') throw this.#fail(new StoreWriteError(this.location, new StoreRefusedError(failure.error)))
      throw failure.error
    }
  }

  async read<T>(fn: (reader: StoreReader) => Promise<T> | T): Promise<T> {
    this.#assertUsable()
    return await fn(readerOver(this.#q, new StagedWrites()))
  }

  async findInvoice(uuid: string): Promise<Invoice | undefined> {
    this.#assertUsable()
    return (await selectInvoices(this.#q, [uuid])).get(uuid)
  }

  async listInvoices(merchantId: string, query: InvoiceListQuery, nowMs: number): Promise<{ invoices: Invoice[]; next: InvoiceCursor | null }> {
    this.#assertUsable()
    return await selectInvoicePage(this.#q, merchantId, query, nowMs)
  }

  /**
   * Drops the processed-transfer records below `finalBlock` (a reorg can no longer take those
   * transfers back) and folds the count deltas into one row. Invoices stay: the partial indexes
   * already keep settled ones out of every hot query.
   * @returns 0: no invoice leaves the table.
   */
  async compact(finalBlock: number): Promise<number> {
    this.#assertUsable()
    await this.#q.query('DELETE FROM processed_transfers WHERE last_block < $1', [finalBlock])
    // Rows a concurrent transaction adds meanwhile are not seen by this DELETE: they stay, and count on.
    await this.#q.query(
      `WITH folded AS (DELETE FROM final_counts WHERE (SELECT count(*) FROM final_counts) > 1 RETURNING settled, delivered, dead)
       INSERT INTO final_counts (settled, delivered, dead)
       SELECT sum(settled), sum(delivered), sum(dead) FROM folded HAVING count(*) > 0`,
    )
    return 0
  }

  availability(): StoreAvailability {
    if (this.#closed) return { available: false, reason: 'the store is closed' }
    if (this.#fatal !== null) return { available: false, reason: this.#fatal.message }
    return this.#availability.state
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#availability.stop()
    await this.deadLetters.close()
    await this.#pool.end()
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect()
    } catch (error) {
      const failure = classifyPostgresError(error)
      const reason = failure.kind === 'unavailable' ? failure.reason : 'no connection could be made'
      this.#availability.unreachable(reason)
      throw new StoreUnavailableError(reason, { cause: error })
    }
  }

  #fail(error: StoreWriteError): StoreWriteError {
    if (this.#fatal === null) {
      this.#fatal = error
      this.#rejectFailed(error)
    }
    return this.#fatal
  }

  #assertUsable(): void {
    if (this.#fatal !== null) throw this.#fatal
    if (this.#closed) throw new StoreClosedError(this.location)
  }
}
