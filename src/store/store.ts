import type { ChainState } from '../chain/chain-state.ts'

/** What a transaction may read. */
export interface StoreReader {
  /** The reader's persisted position, or null for a new store. */
  getChainState(): ChainState | null
}

/** What a transaction may change. Changes become durable together when `transact` resolves. */
export interface StoreTx extends StoreReader {
  putChainState(state: ChainState): void
}

/**
 * The persistence seam. Nothing outside `src/store/` knows which backend runs: the lowdb
 * file today, a PostgreSQL backend for several replicas later.
 */
export interface Store {
  /** The location shown in messages (a file path for lowdb). */
  readonly location: string
  /**
   * Runs `fn` alone against the store. Its changes are all persisted, atomically, before
   * the returned promise resolves; if `fn` throws, none of them are applied.
   * @throws {StoreWriteError} when the disk refuses the write (fatal for the process).
   */
  transact<T>(fn: (tx: StoreTx) => T): Promise<T>
  /** Reads the latest state, including changes whose write is still in flight. */
  read<T>(fn: (reader: StoreReader) => T): T
  /** Waits for pending writes and releases the writer lock. */
  close(): Promise<void>
}
