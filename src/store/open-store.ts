import type { ChainState } from '../chain/chain-state.ts'
import type { Config, StorageConfig } from '../config/schema.ts'
import type { Logger } from '../ops/logger.ts'
import { StoreUnavailableError } from './errors.ts'
import type { PendingOutboxPage } from './lowdb/pending-outbox-page.ts'
import type { DeadLetters, PendingOutboxQuery, Store, StoreCounts } from './store.ts'
import { silentLogger } from '../ops/logger.ts'

/** Each backend's module, loaded only when configured: a lowdb install never loads the database driver. */
const lowdb = () => import('./lowdb/lowdb-store.ts')
const lowdbDeadLetters = () => import('./lowdb/file-dead-letters.ts')
const postgres = () => import('./postgres/postgres-store.ts')

/*
 * The only place that names a backend: everything outside `src/store/` opens the store, its
 * dead letters and its snapshot through these, from `storage.driver`.
 */

/** What `settleproof status` shows of a store it reads without opening it for writing. */
export type StoreSnapshot = { chain: ChainState | null; counts: StoreCounts }

export type OpenStoreOptions = { logger: Logger }

/**
 * Opens the store `storage.driver` names, for the daemon (lowdb: takes the writer lock).
 * @throws {StoreUnavailableError} the database cannot be reached.
 * @throws what the backend refuses at open (lowdb: a held lock, an unusable location, a corrupt file).
 */
export async function openStore(config: Pick<Config, 'storage' | 'dlq'>, options: OpenStoreOptions): Promise<Store> {
  const storage = config.storage
  switch (storage.driver) {
    case 'lowdb':
      return await (await lowdb()).openLowdbStore({ path: storage.path, dlqPath: config.dlq.path })
    case 'postgres':
      return await (await postgres()).openPostgresStore({ url: storage.url, poolSize: storage.pool_size, dlqPath: config.dlq.path, logger: options.logger })
    default:
      return unknownDriver(storage)
  }
}

/**
 * The dead letters alone, without the store (and without its writer lock), for `dlq list` and
 * `dlq replay` while the daemon runs.
 */
export async function openDeadLetters(config: Pick<Config, 'storage' | 'dlq'>): Promise<DeadLetters> {
  const storage = config.storage
  switch (storage.driver) {
    case 'lowdb':
      return (await lowdbDeadLetters()).openFileDeadLetters(config.dlq.path)
    case 'postgres':
      return await (await postgres()).openPostgresDeadLetters({ url: storage.url, dlqPath: config.dlq.path })
    default:
      return unknownDriver(storage)
  }
}

/**
 * The reader's position and the counts, read without the writer lock (`settleproof status`
 * while the daemon runs), or null when nothing was ever stored there.
 * @throws what the backend refuses (lowdb: `StoreCorruptError`).
 */
export async function readStoreSnapshot(config: Pick<Config, 'storage'>): Promise<StoreSnapshot | null> {
  const storage = config.storage
  switch (storage.driver) {
    case 'lowdb':
      return await (await lowdb()).readLowdbStoreSnapshot(storage.path)
    case 'postgres':
      return await (await postgres()).readPostgresSnapshot({ url: storage.url })
    default:
      return unknownDriver(storage)
  }
}

/** Pages of the pending outbox for `settleproof outbox list`; `close` when done. */
export type PendingOutboxReader = { page(query: PendingOutboxQuery): Promise<PendingOutboxPage>; close(): Promise<void> }

/**
 * The pending outbox, read without the writer lock (`settleproof outbox list` while the daemon
 * runs), or null when nothing was ever stored there.
 * @throws what the backend refuses (lowdb: `StoreCorruptError`; PostgreSQL: `StoreUnavailableError`).
 */
export async function openPendingOutboxReader(config: Pick<Config, 'storage' | 'dlq'>): Promise<PendingOutboxReader | null> {
  const storage = config.storage
  switch (storage.driver) {
    case 'lowdb': {
      const outbox = await (await lowdb()).readLowdbPendingOutbox(storage.path)
      return outbox === null ? null : { page: async (query) => outbox.page(query), close: async () => undefined }
    }
    case 'postgres': {
      const { openPostgresStore, readPostgresSnapshot } = await postgres()
      if ((await readPostgresSnapshot({ url: storage.url })) === null) return null
      const store = await openPostgresStore({ url: storage.url, poolSize: 1, dlqPath: config.dlq.path, logger: silentLogger() })
      return { page: (query) => store.read((reader) => reader.listPendingOutbox(query)), close: () => store.close() }
    }
    default:
      return unknownDriver(storage)
  }
}

/** Where the store is, as an operator may see it: the file's path, or the database URL without credentials or parameters. */
export function storeLocation(storage: StorageConfig): string {
  switch (storage.driver) {
    case 'lowdb':
      return storage.path
    case 'postgres': {
      const url = new URL(storage.url) // the schema checked that it parses
      return `${url.protocol}//${url.host}${url.pathname}`
    }
    default:
      return unknownDriver(storage)
  }
}

/** A driver the schema let through but no backend knows: `tsc` refuses a new driver left out above. */
function unknownDriver(storage: never): never {
  throw new StoreUnavailableError(`storage.driver ${String((storage as { driver?: unknown }).driver)} is not known`)
}
