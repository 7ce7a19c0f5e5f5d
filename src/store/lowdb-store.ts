import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { Low } from 'lowdb'
import type { ChainState } from '../chain/chain-state.ts'
import { OUTBOX_STATES, type OutboxEntry, type OutboxState } from '../delivery/outbox-entry.ts'
import { invoiceStatus, type Invoice } from '../settlement/invoice.ts'
import { DurableJsonFile } from './durable-json-file.ts'
import { StoreClosedError, StoreWriteError } from './errors.ts'
import { InvoiceArchive } from './invoice-archive.ts'
import type { ProcessedTransfer, Store, StoreCounts, StoreReader, StoreTx } from './store.ts'
import { acquireWriterLock, type WriterLock } from './writer-lock.ts'

const FORMAT = 'settleproof-store'
const VERSION = 1

/** The document the lowdb backend keeps. Private to this backend. */
type Document = {
  format: typeof FORMAT
  version: typeof VERSION
  chain: ChainState | null
  invoices: Record<string, Invoice>
  /** Pending entries only: final ones leave and are counted in `totals`. */
  outbox: Record<string, OutboxEntry>
  processed: Record<string, ProcessedTransfer[]>
  totals: { settledArchived: number; delivered: number; dead: number }
}

export type OpenLowdbStoreParameters = { path: string }

/**
 * Opens (or creates) the lowdb JSON store: takes the writer lock, then reads the file and
 * its archive (`<path>.archive.jsonl`).
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
    const db = new Low<Document>(adapter, emptyDocument())
    await db.read()
    const archive = await InvoiceArchive.open(`${path}.archive.jsonl`)
    return new LowdbStore(path, db, lock, archive)
  } catch (error) {
    await lock.release()
    throw error
  }
}

function emptyDocument(): Document {
  return { format: FORMAT, version: VERSION, chain: null, invoices: {}, outbox: {}, processed: {}, totals: { settledArchived: 0, delivered: 0, dead: 0 } }
}

function validateDocument(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'not a JSON object'
  const document = value as Partial<Document>
  if (document.format !== FORMAT) return 'not a settleproof store'
  if (document.version !== VERSION) return `store version ${String(document.version)} is not supported by this release`
  for (const key of ['invoices', 'outbox', 'processed', 'totals'] as const) {
    if (document[key] === undefined) (document as Record<string, unknown>)[key] = emptyDocument()[key]
    else if (typeof document[key] !== 'object' || document[key] === null) return `"${key}" is not an object`
  }
  return undefined
}

const openKey = (merchantId: string, token: string, amount: string) => `${merchantId}|${token}|${amount}`
const byAge = (a: { createdAt: string; uuid?: string; webhookId?: string }, b: { createdAt: string; uuid?: string; webhookId?: string }) =>
  a.createdAt.localeCompare(b.createdAt) || (a.uuid ?? a.webhookId ?? '').localeCompare(b.uuid ?? b.webhookId ?? '')
const isFinal = (state: OutboxState) => state === 'delivered' || state === 'dead'

/** Changes staged by one transaction; applied to the document only when it returns. */
type Overlay = {
  chain?: ChainState
  invoices: Map<string, Invoice>
  /** Open invoices staged by this transaction, by open key: matching must see them without a scan. */
  opened: Map<string, Set<string>>
  outbox: Map<string, OutboxEntry>
  processed: Map<string, ProcessedTransfer[]>
}


function countDocument(data: Document, nowMs: number): StoreCounts {
  const outbox = Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>
  const queueDepth: Record<string, number> = {}
  for (const entry of Object.values(data.outbox)) {
    outbox[entry.state]++
    queueDepth[entry.merchantId] = (queueDepth[entry.merchantId] ?? 0) + 1
  }
  outbox.delivered += data.totals.delivered
  outbox.dead += data.totals.dead
  const invoices = { open: 0, expired: 0, settled: data.totals.settledArchived }
  for (const invoice of Object.values(data.invoices)) invoices[invoiceStatus(invoice, nowMs)]++
  return { invoices, outbox, queueDepth }
}

/**
 * Reads a store file without taking the writer lock, for `settleproof status` while the
 * daemon runs: the file is only ever replaced whole (rename), so a read sees one commit.
 * @throws {StoreCorruptError}
 */
export async function readLowdbStoreSnapshot(path: string): Promise<{ chain: ChainState | null; counts: StoreCounts } | null> {
  const document = await new DurableJsonFile<Document>(resolve(path), validateDocument).read()
  return document === null ? null : { chain: document.chain, counts: countDocument(document, Date.now()) }
}

class LowdbStore implements Store {
  readonly location: string
  readonly #db: Low<Document>
  readonly #lock: WriterLock
  readonly #archive: InvoiceArchive
  /** Open invoices by merchant, token and amount: the matching hot path never scans. */
  readonly #open = new Map<string, Set<string>>()
  /** Bumped by every committed transaction; `#persisted` trails it until the write lands. */
  #version = 0
  #persisted = 0
  #writer: Promise<void> | null = null
  #failure: unknown = null
  #closed = false

  constructor(location: string, db: Low<Document>, lock: WriterLock, archive: InvoiceArchive) {
    this.location = location
    this.#db = db
    this.#lock = lock
    this.#archive = archive
    for (const invoice of Object.values(db.data.invoices)) this.#index(invoice)
  }

  #index(invoice: Invoice, previous?: Invoice) {
    if (previous?.status === 'open') this.#open.get(openKey(previous.merchantId, previous.token, previous.amount))?.delete(previous.uuid)
    if (invoice.status === 'open') {
      const key = openKey(invoice.merchantId, invoice.token, invoice.amount)
      let set = this.#open.get(key)
      if (set === undefined) this.#open.set(key, (set = new Set()))
      set.add(invoice.uuid)
    }
  }

  #reader(overlay?: Overlay): StoreReader {
    const data = this.#db.data
    const invoice = (uuid: string) => overlay?.invoices.get(uuid) ?? data.invoices[uuid]
    const outbox = (id: string) => (overlay?.outbox.has(id) ? overlay.outbox.get(id) : data.outbox[id])
    return {
      getChainState: () => overlay?.chain ?? data.chain,
      getInvoice: invoice,
      openInvoices: (merchantId, token, amount) => {
        const key = openKey(merchantId, token, amount)
        const uuids = new Set(this.#open.get(key))
        for (const uuid of overlay?.opened.get(key) ?? []) uuids.add(uuid)
        return [...uuids]
          .map((uuid) => invoice(uuid)!)
          .filter((inv) => inv.status === 'open')
          .sort(byAge)
      },
      getOutboxEntry: outbox,
      dueOutboxEntries: (nowMs, limit, skip) => {
        const ids = new Set([...Object.keys(data.outbox), ...(overlay?.outbox.keys() ?? [])])
        return [...ids]
          .map(outbox)
          .filter((e): e is OutboxEntry => e !== undefined && !isFinal(e.state) && e.nextAttemptAt <= nowMs && !skip?.has(e.merchantId))
          .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || byAge(a, b))
          .slice(0, limit)
      },
      processedTransfers: (identity) => overlay?.processed.get(identity) ?? data.processed[identity] ?? [],
      counts: (nowMs) => this.#counts(nowMs ?? Date.now()),
    }
  }

  #counts(nowMs: number): StoreCounts {
    return countDocument(this.#db.data, nowMs)
  }


  read<T>(fn: (reader: StoreReader) => T): T {
    return fn(this.#reader())
  }

  async transact<T>(fn: (tx: StoreTx) => T): Promise<T> {
    if (this.#closed || this.#failure !== null) throw this.#failure ?? new StoreClosedError(this.location)
    const overlay: Overlay = { invoices: new Map(), opened: new Map(), outbox: new Map(), processed: new Map() }
    const tx: StoreTx = {
      ...this.#reader(overlay),
      putChainState: (state) => void (overlay.chain = state),
      putInvoice: (invoice) => {
        overlay.invoices.set(invoice.uuid, invoice)
        if (invoice.status === 'open') {
          const key = openKey(invoice.merchantId, invoice.token, invoice.amount)
          let set = overlay.opened.get(key)
          if (set === undefined) overlay.opened.set(key, (set = new Set()))
          set.add(invoice.uuid)
        }
      },
      putOutboxEntry: (entry) => void overlay.outbox.set(entry.webhookId, entry),
      putProcessedTransfers: (identity, transfers) => void overlay.processed.set(identity, [...transfers]),
    }
    const result = fn(tx) // a throw leaves the overlay unapplied: nothing happened
    if (overlay.chain === undefined && overlay.invoices.size === 0 && overlay.outbox.size === 0 && overlay.processed.size === 0) return result
    this.#apply(overlay)
    const version = ++this.#version
    // Several transactions committed while one write runs share the next write.
    while (this.#persisted < version) {
      if (this.#failure !== null) throw this.#failure
      await this.#flush()
    }
    return result
  }

  #apply(overlay: Overlay) {
    const data = this.#db.data
    if (overlay.chain !== undefined) data.chain = overlay.chain
    for (const invoice of overlay.invoices.values()) {
      this.#index(invoice, data.invoices[invoice.uuid])
      data.invoices[invoice.uuid] = invoice
    }
    for (const entry of overlay.outbox.values()) {
      if (isFinal(entry.state)) {
        if (data.outbox[entry.webhookId] !== undefined || entry.attempts > 0) data.totals[entry.state === 'delivered' ? 'delivered' : 'dead']++
        delete data.outbox[entry.webhookId]
      } else data.outbox[entry.webhookId] = entry
    }
    for (const [identity, transfers] of overlay.processed) {
      if (transfers.length === 0) delete data.processed[identity]
      else data.processed[identity] = transfers
    }
  }

  async findInvoice(uuid: string): Promise<Invoice | undefined> {
    return this.#db.data.invoices[uuid] ?? (await this.#archive.get(uuid))
  }

  hasInvoice(uuid: string): boolean {
    return this.#db.data.invoices[uuid] !== undefined || this.#archive.has(uuid)
  }

  async compact(finalBlock: number): Promise<number> {
    if (this.#closed || this.#failure !== null) throw this.#failure ?? new StoreClosedError(this.location)
    const data = this.#db.data
    const done = Object.values(data.invoices).filter(
      (invoice) =>
        invoice.status === 'settled' &&
        invoice.settlement !== null &&
        invoice.settlement.blockNumber < finalBlock &&
        (invoice.delivery?.status === 'delivered' || invoice.delivery?.status === 'dead'),
    )
    const staleProcessed = Object.entries(data.processed).filter(([, transfers]) => transfers.every((t) => t.block < finalBlock))
    if (done.length === 0 && staleProcessed.length === 0) return 0
    // Archive first: a crash between the two steps leaves an invoice in both places, never in neither.
    await this.#archive.append(done)
    for (const invoice of done) {
      if (data.invoices[invoice.uuid] !== invoice) continue // changed meanwhile: archived copy is superseded on the next pass
      delete data.invoices[invoice.uuid]
      data.totals.settledArchived++
    }
    for (const [identity] of staleProcessed) delete data.processed[identity]
    const version = ++this.#version
    while (this.#persisted < version) {
      if (this.#failure !== null) throw this.#failure
      await this.#flush()
    }
    return done.length
  }

  isOpen(): boolean {
    return !this.#closed && this.#failure === null
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
