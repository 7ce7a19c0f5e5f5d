import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { Low } from 'lowdb'
import type { ChainState } from '../chain/chain-state.ts'
import { DurableJsonFile } from './durable-json-file.ts'
import { StoreClosedError, StoreWriteError } from './errors.ts'
import type { Store, StoreReader, StoreTx } from './store.ts'
import { acquireWriterLock, type WriterLock } from './writer-lock.ts'

const FORMAT = 'settleproof-store'
const VERSION = 1

/** The document the lowdb backend keeps. Private to this backend. */
type Document = {
  format: typeof FORMAT
  version: typeof VERSION
  chain: ChainState | null
}

export type OpenLowdbStoreParameters = { path: string }

/**
 * Opens (or creates) the lowdb JSON store: takes the writer lock, then reads the file.
 * @throws {StoreLockedError} another process holds the store.
 * @throws {StoreCorruptError} the file is not a store; it is not modified.
 */
export async function openLowdbStore(parameters: OpenLowdbStoreParameters): Promise<Store> {
  const path = resolve(parameters.path)
  await mkdir(dirname(path), { recursive: true })
  const lock = await acquireWriterLock(path)
  try {
    const adapter = new DurableJsonFile<Document>(path, validateDocument)
    await adapter.removeLeftovers()
    const db = new Low<Document>(adapter, { format: FORMAT, version: VERSION, chain: null })
    await db.read()
    return new LowdbStore(path, db, lock)
  } catch (error) {
    await lock.release()
    throw error
  }
}

function validateDocument(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'not a JSON object'
  const document = value as Partial<Document>
  if (document.format !== FORMAT) return 'not a settleproof store'
  if (document.version !== VERSION) return `store version ${String(document.version)} is not supported by this release`
  return undefined
}

class LowdbStore implements Store {
  readonly location: string
  readonly #db: Low<Document>
  readonly #lock: WriterLock
  /** Bumped by every committed transaction; `#persisted` trails it until the write lands. */
  #version = 0
  #persisted = 0
  #writer: Promise<void> | null = null
  #failure: unknown = null
  #closed = false

  constructor(location: string, db: Low<Document>, lock: WriterLock) {
    this.location = location
    this.#db = db
    this.#lock = lock
  }

  read<T>(fn: (reader: StoreReader) => T): T {
    const data = this.#db.data
    return fn({ getChainState: () => data.chain })
  }

  async transact<T>(fn: (tx: StoreTx) => T): Promise<T> {
    if (this.#closed || this.#failure !== null) throw new StoreClosedError(this.location)
    const data = this.#db.data
    const undo: (() => void)[] = []
    const tx: StoreTx = {
      getChainState: () => data.chain,
      putChainState: (state) => {
        const previous = data.chain
        undo.push(() => {
          data.chain = previous
        })
        data.chain = state
      },
    }
    let result: T
    try {
      result = fn(tx)
    } catch (error) {
      for (const step of undo.reverse()) step()
      throw error
    }
    if (undo.length === 0) return result
    const version = ++this.#version
    // Several transactions committed while one write runs share the next write.
    while (this.#persisted < version) {
      if (this.#failure !== null) throw this.#failure
      await this.#flush()
    }
    return result
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      while (this.#persisted < this.#version && this.#failure === null) await this.#flush()
    } finally {
      await this.#lock.release()
    }
  }

  #flush(): Promise<void> {
    this.#writer ??= (async () => {
      try {
        while (this.#persisted < this.#version && this.#failure === null) {
          const target = this.#version
          await this.#db.write()
          this.#persisted = target
        }
      } catch (error) {
        this.#failure = new StoreWriteError(this.location, error)
      } finally {
        this.#writer = null
      }
    })()
    return this.#writer
  }
}
