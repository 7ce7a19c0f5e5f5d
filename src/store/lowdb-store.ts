import { resolve } from 'node:path'
import { Low } from 'lowdb'
import type { ChainState } from '../chain/chain-state.ts'
import type { OutboxEntry } from '../delivery/outbox-entry.ts'
import { invoiceStatus, type Invoice } from '../settlement/invoice.ts'
import { selectInvoicePage, type InvoiceCursor, type InvoiceListEntry, type InvoiceListQuery } from '../settlement/invoice-list-query.ts'
import { DurableJsonFile } from './durable-json-file.ts'
import { StoreClosedError, StoreWriteError } from './errors.ts'
import { InvoiceArchive } from './invoice-archive.ts'
import { Journal, journalLine, readJournal } from './journal.ts'
import { applyChanges, countDocument, emptyDocument, isFinal, parseDocument, type Changes, type Document } from './lowdb-document.ts'
import { selectPendingOutboxPage, type PendingOutboxPage } from './pending-outbox-page.ts'
import type { PendingOutboxQuery, ProcessedTransfer, Store, StoreCounts, StoreReader, StoreTx } from './store.ts'
import { createStoreDirectory } from './store-directory.ts'
import { acquireWriterLock, type WriterLock } from './writer-lock.ts'

export type OpenLowdbStoreParameters = { path: string }

/** The journal is folded into a new snapshot once it outgrows this, or the last snapshot. */
const MIN_JOURNAL_BYTES_BEFORE_SNAPSHOT = 4 * 1024 * 1024

/**
 * Loads the state: the lowdb snapshot, then every journal record it does not include yet.
 * @throws {StoreCorruptError}
 */
async function loadDocument(path: string): Promise<{ adapter: DurableJsonFile<Document>; document: Document; nextSeq: number; validJournalBytes: number }> {
  const adapter = new DurableJsonFile<Document>(path, parseDocument)
  const document = (await adapter.read()) ?? emptyDocument()
  const journal = await readJournal(`${path}.journal`)
  let seq = document.journalSeq
  for (const changes of journal.records) {
    if (changes.seq <= document.journalSeq) continue // already in the snapshot (a crash came between snapshot and reset)
    applyChanges(document, changes)
    seq = changes.seq
  }
  return { adapter, document, nextSeq: seq + 1, validJournalBytes: journal.validBytes }
}

/**
 * Opens (or creates) the lowdb store: takes the writer lock, reads the snapshot
 * (`<path>`), replays the journal (`<path>.journal`) and indexes the archive
 * (`<path>.archive.jsonl`).
 * @throws {StoreLockedError} another process holds the store.
 * @throws {StoreLocationError} its directory or lock file cannot be created or written.
 * @throws {StoreCorruptError} the files are not a store; they are not modified.
 */
export async function openLowdbStore(parameters: OpenLowdbStoreParameters): Promise<Store> {
  const path = resolve(parameters.path)
  await createStoreDirectory(path)
  const lock = await acquireWriterLock(path)
  try {
    const { adapter, document, nextSeq, validJournalBytes } = await loadDocument(path)
    await adapter.removeLeftovers()
    const db = new Low<Document>(adapter, document)
    db.data = document
    const journal = await Journal.open(`${path}.journal`, validJournalBytes)
    const archive = await InvoiceArchive.open(`${path}.archive.jsonl`)
    return new LowdbStore(path, adapter, db, journal, nextSeq, lock, archive)
  } catch (error) {
    await lock.release()
    throw error
  }
}

/**
 * Reads the store without taking the writer lock, for `settleproof status` while the daemon
 * runs: the snapshot is only ever replaced whole and the journal only appended to.
 * @throws {StoreCorruptError}
 */
export async function readLowdbStoreSnapshot(path: string): Promise<{ chain: ChainState | null; counts: StoreCounts } | null> {
  const { document } = await loadDocument(resolve(path))
  if (document.chain === null && Object.keys(document.invoices).length === 0 && document.journalSeq === 0 && Object.keys(document.outbox).length === 0) return null
  return { chain: document.chain, counts: countDocument(document, Date.now()) }
}

/**
 * A page of the pending outbox read without the writer lock, for `settleproof outbox list`
 * while the daemon runs (the same files `readLowdbStoreSnapshot` reads). An absent store has
 * nothing pending.
 * @throws {StoreCorruptError}
 */
export async function readLowdbPendingOutbox(path: string, query: PendingOutboxQuery): Promise<PendingOutboxPage> {
  const { document } = await loadDocument(resolve(path))
  return selectPendingOutboxPage(Object.values(document.outbox), query)
}

const openKey = (merchantId: string, token: string, amount: string) => `${merchantId}|${token}|${amount}`
const byAge = (a: { createdAt: string; uuid?: string; webhookId?: string }, b: { createdAt: string; uuid?: string; webhookId?: string }) =>
  a.createdAt.localeCompare(b.createdAt) || (a.uuid ?? a.webhookId ?? '').localeCompare(b.uuid ?? b.webhookId ?? '')

/** Changes staged by one transaction; applied to the document only when it returns. */
type Overlay = {
  chain?: ChainState
  invoices: Map<string, Invoice>
  /** Open invoices staged by this transaction, by open key: matching must see them without a scan. */
  opened: Map<string, Set<string>>
  outbox: Map<string, OutboxEntry>
  processed: Map<string, ProcessedTransfer[]>
  replayed: Set<string>
}

/**
 * The lowdb backend. A transaction is applied to memory when it commits, so the transactions
 * that follow see it and share its journal write (group commit), and is acknowledged once its
 * journal line is durable. When a write fails, memory holds commits the disk does not: rather
 * than unpick them, the store fails as a whole. From then on every read and transaction throws
 * the `StoreWriteError`, so nothing that failed is ever served (no 200 for an invoice that is
 * not on disk), and `failed` rejects so the daemon stops at once and its supervisor restarts
 * it from what the disk holds. Reads that answer a client (`findInvoice`, a transaction that
 * changes nothing) also wait until what they saw is durable.
 */
class LowdbStore implements Store {
  readonly location: string
  readonly failed: Promise<never>
  #rejectFailed!: (error: StoreWriteError) => void
  readonly #db: Low<Document>
  readonly #adapter: DurableJsonFile<Document>
  readonly #journal: Journal
  readonly #lock: WriterLock
  readonly #archive: InvoiceArchive
  /** Open invoices by merchant, token and amount: the matching hot path never scans. */
  readonly #open = new Map<string, Set<string>>()
  /** Journal lines committed in memory, waiting for the writer. */
  #pending: string[] = []
  #nextSeq: number
  /** Highest seq committed in memory; `#persisted` trails it until the journal write lands. */
  #committed: number
  #persisted: number
  #snapshotBytes = 0
  #writer: Promise<void> | null = null
  #waiters: { seq: number; resolve: () => void; reject: (error: unknown) => void }[] = []
  #failure: StoreWriteError | null = null
  #closed = false

  constructor(location: string, adapter: DurableJsonFile<Document>, db: Low<Document>, journal: Journal, nextSeq: number, lock: WriterLock, archive: InvoiceArchive) {
    this.location = location
    this.#adapter = adapter
    this.#db = db
    this.#journal = journal
    this.#nextSeq = nextSeq
    this.#committed = nextSeq - 1
    this.#persisted = nextSeq - 1
    this.#lock = lock
    this.#archive = archive
    this.failed = new Promise<never>((_, reject) => (this.#rejectFailed = reject))
    this.failed.catch(() => undefined) // observed by whoever races it; never an unhandled rejection
    for (const invoice of Object.values(db.data.invoices)) this.#index(invoice, undefined)
    this.#snapshotBytes = adapter.lastReadBytes
  }

  #index = (next: Invoice | undefined, previous: Invoice | undefined) => {
    if (previous?.status === 'open') this.#open.get(openKey(previous.merchantId, previous.token, previous.amount))?.delete(previous.uuid)
    if (next?.status === 'open') {
      const key = openKey(next.merchantId, next.token, next.amount)
      let set = this.#open.get(key)
      if (set === undefined) this.#open.set(key, (set = new Set()))
      set.add(next.uuid)
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
        // Entries sit in creation order (a retried entry keeps its place), so the first due ones
        // found are the oldest: the scan stops at `limit` instead of sorting the whole outbox.
        const due: OutboxEntry[] = []
        const isDue = (e: OutboxEntry | undefined): e is OutboxEntry => e !== undefined && !isFinal(e.state) && e.nextAttemptAt <= nowMs && !skip?.has(e.merchantId)
        for (const id in data.outbox) {
          if (due.length >= limit) break
          const entry = outbox(id)
          if (isDue(entry)) due.push(entry)
        }
        for (const [id, entry] of overlay?.outbox ?? []) if (data.outbox[id] === undefined && due.length < limit && isDue(entry)) due.push(entry)
        return due
      },
      listPendingOutbox: (query) => {
        // The hot outbox holds pending entries only; a transaction's own puts replace them (a final one is skipped by the selection).
        function* candidates() {
          for (const id in data.outbox) {
            const entry = outbox(id)
            if (entry !== undefined) yield entry
          }
          for (const [id, entry] of overlay?.outbox ?? []) if (data.outbox[id] === undefined) yield entry
        }
        return selectPendingOutboxPage(candidates(), query)
      },
      processedTransfers: (identity) => overlay?.processed.get(identity) ?? data.processed[identity] ?? [],
      isReplayRecorded: (webhookId) => overlay?.replayed.has(webhookId) === true || data.replayed.includes(webhookId),
      counts: (nowMs) => countDocument(data, nowMs ?? Date.now()),
    }
  }

  read<T>(fn: (reader: StoreReader) => T): T {
    this.#assertNotFailed()
    return fn(this.#reader())
  }

  async transact<T>(fn: (tx: StoreTx) => T): Promise<T> {
    this.#assertOpen()
    const overlay: Overlay = { invoices: new Map(), opened: new Map(), outbox: new Map(), processed: new Map(), replayed: new Set() }
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
      putReplayed: (webhookId) => void overlay.replayed.add(webhookId),
    }
    const result = fn(tx) // a throw leaves the overlay unapplied: nothing happened
    if (overlay.chain === undefined && overlay.invoices.size === 0 && overlay.outbox.size === 0 && overlay.processed.size === 0 && overlay.replayed.size === 0) {
      // It may have read commits still on their way to disk: answer only once they got there.
      await this.#durable(this.#committed)
      return result
    }
    const changes: Changes = { seq: this.#nextSeq }
    if (overlay.chain !== undefined) changes.chain = overlay.chain
    if (overlay.invoices.size > 0) changes.invoices = [...overlay.invoices.values()]
    if (overlay.outbox.size > 0) changes.outbox = [...overlay.outbox.values()]
    if (overlay.processed.size > 0) changes.processed = [...overlay.processed]
    if (overlay.replayed.size > 0) changes.replayed = [...overlay.replayed]
    await this.#commit(changes)
    return result
  }

  /** Applies in memory at once (later transactions see it), then waits until the journal holds it. */
  async #commit(changes: Changes): Promise<void> {
    applyChanges(this.#db.data, changes, this.#index)
    this.#nextSeq = changes.seq + 1
    this.#committed = changes.seq
    this.#pending.push(journalLine(changes))
    // Transactions committed while a write runs share the next write.
    const durable = this.#durable(changes.seq)
    this.#writer ??= this.#write()
    await durable
  }

  /** Resolves once commit `seq` is on disk; rejects if the store failed first. */
  #durable(seq: number): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failure)
    if (seq <= this.#persisted) return Promise.resolve()
    return new Promise<void>((resolve, reject) => this.#waiters.push({ seq, resolve, reject }))
  }

  /** Fails the store for good (see the class comment). */
  #fail(error: unknown): StoreWriteError {
    if (this.#failure === null) {
      this.#failure = error instanceof StoreWriteError ? error : new StoreWriteError(this.location, error)
      this.#rejectFailed(this.#failure)
    }
    return this.#failure
  }

  /** Settles the commits the journal now holds (or fails them all after a write error). */
  #settleWaiters() {
    const waiting = this.#waiters
    this.#waiters = []
    for (const waiter of waiting) {
      if (this.#failure !== null) waiter.reject(this.#failure)
      else if (waiter.seq <= this.#persisted) waiter.resolve()
      else this.#waiters.push(waiter)
    }
  }

  async findInvoice(uuid: string): Promise<Invoice | undefined> {
    this.#assertNotFailed()
    const hot = this.#db.data.invoices[uuid]
    if (hot === undefined) return await this.#archive.get(uuid)
    await this.#durable(this.#committed)
    return hot
  }

  async listInvoices(merchantId: string, query: InvoiceListQuery, nowMs: number): Promise<{ invoices: Invoice[]; next: InvoiceCursor | null }> {
    this.#assertNotFailed()
    // Archived ones are placed from the archive's index; a hot copy (a reorg reopened an
    // invoice after it was archived) supersedes the archived one, so each is counted once.
    const candidates = new Map<string, InvoiceListEntry & { hot?: Invoice }>()
    for (const { uuid, createdAt } of this.#archive.summariesOf(merchantId)) candidates.set(uuid, { uuid, createdAt, status: 'settled' })
    for (const invoice of Object.values(this.#db.data.invoices)) {
      if (invoice.merchantId === merchantId) candidates.set(invoice.uuid, { uuid: invoice.uuid, createdAt: invoice.createdAt, status: invoiceStatus(invoice, nowMs), hot: invoice })
    }
    const { page, next } = selectInvoicePage(candidates.values(), query)
    // The choice may rest on commits still on their way to disk: answer only once they got there.
    await this.#durable(this.#committed)
    const fromArchive = page.filter((entry) => entry.hot === undefined).map((entry) => entry.uuid)
    const read = await this.#archive.getMany(fromArchive)
    const archived = new Map(fromArchive.map((uuid, i) => [uuid, read[i]!]))
    return { invoices: page.map((entry) => entry.hot ?? archived.get(entry.uuid)!), next }
  }

  hasInvoice(uuid: string): boolean {
    this.#assertNotFailed()
    return this.#db.data.invoices[uuid] !== undefined || this.#archive.has(uuid)
  }

  async compact(finalBlock: number): Promise<number> {
    this.#assertOpen()
    const data = this.#db.data
    const done = Object.values(data.invoices).filter(
      (invoice) =>
        invoice.status === 'settled' &&
        invoice.settlement !== null &&
        invoice.settlement.blockNumber < finalBlock &&
        (invoice.delivery?.status === 'delivered' || invoice.delivery?.status === 'dead'),
    )
    const dropped = Object.entries(data.processed)
      .filter(([, transfers]) => transfers.every((t) => t.block < finalBlock))
      .map(([identity]) => identity)
    if (done.length === 0 && dropped.length === 0) return 0
    // Archive first: a crash between the two steps leaves an invoice in both places, never in neither.
    await this.#archive.append(done).catch((error: unknown) => {
      throw this.#fail(error)
    })
    // An invoice changed meanwhile (a reorg reopened it) stays: its archived copy is superseded.
    const archived = done.filter((invoice) => data.invoices[invoice.uuid] === invoice).map((invoice) => invoice.uuid)
    await this.#commit({ seq: this.#nextSeq, archived, dropped })
    return archived.length
  }

  isOpen(): boolean {
    return !this.#closed && this.#failure === null
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.#drain()
      // A clean stop leaves everything in the snapshot and an empty journal.
      if (this.#failure === null && this.#journal.bytes > 0) await this.#snapshot()
    } finally {
      await this.#journal.close().catch(() => undefined)
      await this.#lock.release()
    }
  }

  #assertOpen() {
    this.#assertNotFailed()
    if (this.#closed) throw new StoreClosedError(this.location)
  }

  /** Memory may hold commits the disk refused: nothing is read from it once a write failed. */
  #assertNotFailed() {
    if (this.#failure !== null) throw this.#failure
  }

  async #snapshot(): Promise<void> {
    this.#db.data.journalSeq = this.#persisted
    await this.#db.write()
    await this.#journal.reset()
  }

  /**
   * The single writer: appends pending lines to the journal, acknowledges their commits, and
   * now and then folds the journal into a snapshot. Commits are acknowledged as soon as their
   * journal line is durable, never kept waiting for a snapshot.
   */
  async #write(): Promise<void> {
    try {
      while (this.#pending.length > 0 && this.#failure === null) {
        const lines = this.#pending.join('')
        const upTo = this.#committed
        this.#pending = []
        await this.#journal.append(lines)
        this.#persisted = upTo
        this.#settleWaiters()
        // Amortised: a snapshot costs the size of the store, and comes once the journal has grown to twice that.
        if (this.#journal.bytes > Math.max(MIN_JOURNAL_BYTES_BEFORE_SNAPSHOT, 2 * this.#snapshotBytes) && this.#pending.length === 0) {
          await this.#snapshot()
          this.#snapshotBytes = this.#adapter.lastWriteBytes
        }
      }
    } catch (error) {
      this.#fail(error)
    } finally {
      this.#writer = null
      this.#settleWaiters()
    }
  }

  /** Waits until every commit so far is durable (or the store failed). */
  async #drain(): Promise<void> {
    while (this.#writer !== null) await this.#writer
    if (this.#pending.length > 0 && this.#failure === null) {
      this.#writer = this.#write()
      await this.#writer
    }
  }
}
