import { resolve } from 'node:path'
import { Low } from 'lowdb'
import type { ChainState } from '../../chain/chain-state.ts'
import type { OutboxEntry } from '../../delivery/outbox-entry.ts'
import { invoiceStatus, type Invoice } from '../../settlement/invoice.ts'
import { selectInvoicePage, type InvoiceCursor, type InvoiceListEntry, type InvoiceListQuery } from '../../settlement/invoice-list-query.ts'
import { DurableJsonFile } from './durable-json-file.ts'
import { StoreClosedError, StoreWriteError } from '../errors.ts'
import { InvoiceArchive } from './invoice-archive.ts'
import { Journal, journalLine, readJournal } from './journal.ts'
import { applyChanges, countDocument, emptyDocument, isFinal, parseDocument, type Changes, type Document } from './lowdb-document.ts'
import {
  openInvoiceKey,
  type DeadLetters,
  type PendingOutboxQuery,
  type ProcessedTransfer,
  type Store,
  type StoreAvailability,
  type StoreCounts,
  type StoreReader,
  type StoreTx,
} from '../store.ts'
import { openFileDeadLetters } from './file-dead-letters.ts'
import { selectPendingOutboxPage, type PendingOutboxPage } from './pending-outbox-page.ts'
import { createStoreDirectory } from './store-directory.ts'
import { acquireWriterLock, type WriterLock } from './writer-lock.ts'

export type OpenLowdbStoreParameters = {
  /** The snapshot file (`storage.path`); the journal, archive and lock sit beside it. */
  path: string
  /** The dead-letter file (`dlq.path`). */
  dlqPath: string
}

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
    return new LowdbStore(path, adapter, db, journal, nextSeq, lock, archive, openFileDeadLetters(resolve(parameters.dlqPath)))
  } catch (error) {
    await lock.release()
    throw error
  }
}

/** A document no transaction ever wrote to: what a missing store reads as. */
const neverWritten = (document: Document) => document.chain === null && Object.keys(document.invoices).length === 0 && document.journalSeq === 0 && Object.keys(document.outbox).length === 0

/**
 * Reads the store without taking the writer lock, for `settleproof status` while the daemon
 * runs: the snapshot is only ever replaced whole and the journal only appended to.
 * @throws {StoreCorruptError}
 */
export async function readLowdbStoreSnapshot(path: string): Promise<{ chain: ChainState | null; counts: StoreCounts } | null> {
  const { document } = await loadDocument(resolve(path))
  if (neverWritten(document)) return null
  return { chain: document.chain, counts: countDocument(document, Date.now()) }
}

/**
 * The pending outbox read without the writer lock, for `settleproof outbox list` while the
 * daemon runs (the same files `readLowdbStoreSnapshot` reads, loaded once), or null when no
 * store is there.
 * @throws {StoreCorruptError}
 */
export async function readLowdbPendingOutbox(path: string): Promise<{ page(query: PendingOutboxQuery): PendingOutboxPage } | null> {
  const { document } = await loadDocument(resolve(path))
  if (neverWritten(document)) return null
  const entries = Object.values(document.outbox)
  return { page: (query) => selectPendingOutboxPage(entries, query) }
}

const openKey = (invoice: Invoice) => openInvoiceKey({ merchantId: invoice.merchantId, token: invoice.token, amount: invoice.amount })
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

const isPromiseLike = <T>(value: Promise<T> | T): value is Promise<T> => typeof (value as { then?: unknown } | null)?.then === 'function'

const emptyOverlay = (): Overlay => ({ invoices: new Map(), opened: new Map(), outbox: new Map(), processed: new Map(), replayed: new Set() })

/**
 * The document as it will be once `overlay` commits, for a transaction's own `counts()`: the
 * committed records are shared, not copied; only the maps the overlay changes are new.
 */
function withOverlay(data: Document, overlay: Overlay): Document {
  const changes = overlayChanges(overlay, 0)
  if (changes === null) return data
  const view: Document = { ...data, invoices: { ...data.invoices }, outbox: { ...data.outbox }, processed: { ...data.processed }, replayed: [...data.replayed], totals: { ...data.totals } }
  applyChanges(view, changes)
  return view
}

/** What a transaction changed, as a journal record, or null when it changed nothing. */
function overlayChanges(overlay: Overlay, seq: number): Changes | null {
  if (overlay.chain === undefined && overlay.invoices.size === 0 && overlay.outbox.size === 0 && overlay.processed.size === 0 && overlay.replayed.size === 0) return null
  const changes: Changes = { seq }
  if (overlay.chain !== undefined) changes.chain = overlay.chain
  if (overlay.invoices.size > 0) changes.invoices = [...overlay.invoices.values()]
  if (overlay.outbox.size > 0) changes.outbox = [...overlay.outbox.values()]
  if (overlay.processed.size > 0) changes.processed = [...overlay.processed]
  if (overlay.replayed.size > 0) changes.replayed = [...overlay.replayed]
  return changes
}

/**
 * The lowdb backend. Transactions take turns: one runs at a time, an async one holding the
 * turn until it returns, so what it read is still true when it commits (nothing to retry: each
 * transaction runs once). A transaction is applied to memory when it commits, so the
 * transactions that follow see it and share its journal write (group commit), and is
 * acknowledged once its journal line is durable; the turn passes on at the commit, not at the
 * write, so transactions keep queueing behind a slow disk into one write.
 *
 * When a write fails, memory holds commits the disk does not: rather than unpick them, the
 * store fails as a whole. From then on every read and transaction throws the
 * `StoreWriteError`, so nothing that failed is ever served (no 200 for an invoice that is not
 * on disk), and `failed` rejects so the daemon stops at once and its supervisor restarts it
 * from what the disk holds. Reads that answer a client (`findInvoice`, a transaction that
 * changes nothing) also wait until what they saw is durable.
 */
class LowdbStore implements Store {
  readonly location: string
  readonly failed: Promise<never>
  readonly deadLetters: DeadLetters
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
  /** Whether a transaction (or compaction's commit, or close) has the turn; the others wait in `#waiting`, first come first served. */
  #busy = false
  #waiting: (() => void)[] = []
  #failure: StoreWriteError | null = null
  #closed = false

  constructor(location: string, adapter: DurableJsonFile<Document>, db: Low<Document>, journal: Journal, nextSeq: number, lock: WriterLock, archive: InvoiceArchive, deadLetters: DeadLetters) {
    this.location = location
    this.#adapter = adapter
    this.#db = db
    this.#journal = journal
    this.#nextSeq = nextSeq
    this.#committed = nextSeq - 1
    this.#persisted = nextSeq - 1
    this.#lock = lock
    this.#archive = archive
    this.deadLetters = deadLetters
    this.failed = new Promise<never>((_, reject) => (this.#rejectFailed = reject))
    this.failed.catch(() => undefined) // observed by whoever races it; never an unhandled rejection
    for (const invoice of Object.values(db.data.invoices)) this.#index(invoice, undefined)
    this.#snapshotBytes = adapter.lastReadBytes
  }

  #index = (next: Invoice | undefined, previous: Invoice | undefined) => {
    if (previous?.status === 'open') this.#open.get(openKey(previous))?.delete(previous.uuid)
    if (next?.status === 'open') {
      const key = openKey(next)
      let set = this.#open.get(key)
      if (set === undefined) this.#open.set(key, (set = new Set()))
      set.add(next.uuid)
    }
  }

  /**
   * Reads over the document in memory (commits whose write is in flight included) and, inside
   * a transaction, its staged changes. Every read refuses once a write failed.
   */
  #reader(overlay?: Overlay): StoreReader {
    const data = this.#db.data
    const invoice = (uuid: string) => overlay?.invoices.get(uuid) ?? data.invoices[uuid]
    const outbox = (id: string) => (overlay?.outbox.has(id) ? overlay.outbox.get(id) : data.outbox[id])
    const pending = (visit: (entry: OutboxEntry) => boolean | void) => {
      // Entries sit in creation order (a retried entry keeps its place); staged new ones come last.
      for (const id in data.outbox) {
        const entry = outbox(id)
        if (entry !== undefined && !isFinal(entry.state) && visit(entry) === false) return
      }
      for (const [id, entry] of overlay?.outbox ?? []) if (data.outbox[id] === undefined && !isFinal(entry.state) && visit(entry) === false) return
    }
    const guarded = <A extends unknown[], R>(read: (...args: A) => R) => async (...args: A): Promise<R> => {
      this.#assertNotFailed()
      return read(...args)
    }
    return {
      getChainState: guarded(() => overlay?.chain ?? data.chain),
      getInvoice: guarded(invoice),
      openInvoices: guarded((keys) => {
        const found = new Map<string, Invoice[]>()
        for (const wanted of keys) {
          const key = openInvoiceKey(wanted)
          if (found.has(key)) continue
          const uuids = new Set(this.#open.get(key))
          for (const uuid of overlay?.opened.get(key) ?? []) uuids.add(uuid)
          const open = [...uuids]
            .map((uuid) => invoice(uuid)!)
            .filter((inv) => inv.status === 'open')
            .sort(byAge)
          if (open.length > 0) found.set(key, open)
        }
        return found
      }),
      getOutboxEntries: guarded((webhookIds) => {
        const found = new Map<string, OutboxEntry>()
        for (const id of webhookIds) {
          // Final entries leave the document (they are only counted), so only pending ones and
          // those staged by this transaction are found here.
          const entry = outbox(id)
          if (entry !== undefined) found.set(id, entry)
        }
        return found
      }),
      dueOutboxEntries: guarded((nowMs, limit, skip) => {
        // Creation order: the first due ones found are the oldest, so the scan stops at `limit` instead of sorting the whole outbox.
        const due: OutboxEntry[] = []
        pending((entry) => {
          if (due.length >= limit) return false
          if (entry.nextAttemptAt <= nowMs && !skip?.has(entry.merchantId)) due.push(entry)
        })
        return due
      }),
      processedTransfers: guarded((identities) => {
        const found = new Map<string, readonly ProcessedTransfer[]>()
        for (const identity of identities) {
          const transfers = overlay?.processed.get(identity) ?? data.processed[identity] ?? []
          if (transfers.length > 0) found.set(identity, transfers)
        }
        return found
      }),
      listPendingOutbox: guarded((query: PendingOutboxQuery) => {
        const entries: OutboxEntry[] = []
        pending((entry) => void entries.push(entry))
        return selectPendingOutboxPage(entries, query)
      }),
      isReplayRecorded: guarded((webhookId) => overlay?.replayed.has(webhookId) === true || data.replayed.includes(webhookId)),
      counts: guarded((nowMs) => countDocument(overlay === undefined ? data : withOverlay(data, overlay), nowMs ?? Date.now())),
    }
  }

  async read<T>(fn: (reader: StoreReader) => Promise<T> | T): Promise<T> {
    this.#assertNotFailed()
    return await fn(this.#reader())
  }

  async transact<T>(fn: (tx: StoreTx) => Promise<T> | T): Promise<T> {
    this.#assertOpen()
    // With the turn free, a synchronous `fn` runs and is applied before `transact` returns its
    // promise, so a read made right after the call sees it (as before the seam was async).
    const turn = this.#takeTurn()
    if (turn !== null) await turn
    let result: T
    let seq: number
    try {
      // A transaction accepted before `close()` still runs (close waits for its turn); one queued behind a failed write does not.
      this.#assertNotFailed()
      const overlay = emptyOverlay()
      const returned = fn(this.#tx(overlay)) // a throw leaves the overlay unapplied: nothing happened
      result = isPromiseLike(returned) ? await returned : returned
      this.#assertNotFailed()
      const changes = overlayChanges(overlay, this.#nextSeq)
      // Changing nothing, it may have read commits still on their way to disk: it answers once they got there.
      seq = changes === null ? this.#committed : this.#apply(changes)
    } finally {
      this.#passTurn()
    }
    await this.#durable(seq)
    return result
  }

  #tx(overlay: Overlay): StoreTx {
    return {
      ...this.#reader(overlay),
      putChainState: (state) => void (overlay.chain = state),
      putInvoice: (invoice) => {
        overlay.invoices.set(invoice.uuid, invoice)
        if (invoice.status === 'open') {
          const key = openKey(invoice)
          let set = overlay.opened.get(key)
          if (set === undefined) overlay.opened.set(key, (set = new Set()))
          set.add(invoice.uuid)
        }
      },
      putOutboxEntry: (entry) => void overlay.outbox.set(entry.webhookId, entry),
      putProcessedTransfers: (identity, transfers) => void overlay.processed.set(identity, [...transfers]),
      putReplayed: (webhookId) => void overlay.replayed.add(webhookId),
    }
  }

  /**
   * Takes the turn: at once (null) when nobody has it, else a promise that resolves once the
   * transactions queued before have committed. The holder must `#passTurn()` in every case.
   */
  #takeTurn(): Promise<void> | null {
    if (!this.#busy) {
      this.#busy = true
      return null
    }
    return new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  /** Hands the turn to the next in line, or frees it. */
  #passTurn(): void {
    const next = this.#waiting.shift()
    if (next === undefined) this.#busy = false
    else next()
  }

  /**
   * Applies a commit in memory at once (later transactions see it) and hands its journal line
   * to the writer; the caller waits for `#durable(seq)`.
   * @returns the commit's seq.
   */
  #apply(changes: Changes): number {
    applyChanges(this.#db.data, changes, this.#index)
    this.#nextSeq = changes.seq + 1
    this.#committed = changes.seq
    this.#pending.push(journalLine(changes))
    // Transactions committed while a write runs share the next write.
    this.#writer ??= this.#write()
    return changes.seq
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

  /**
   * Moves what the loop no longer needs out of the hot store: settled invoices whose
   * notification is final and whose block is below `finalBlock` go to the archive, and
   * processed-transfer records below it are dropped.
   */
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
    // Archive first: a crash between the two steps leaves an invoice in both places, never in neither.
    if (done.length > 0) {
      await this.#archive.append(done).catch((error: unknown) => {
        throw this.#fail(error)
      })
    }
    // The commit takes its turn like a transaction: no transaction that read an invoice commits it back after it left.
    await this.#takeTurn()
    let seq: number
    let archived: string[]
    try {
      this.#assertOpen()
      // An invoice changed meanwhile (a reorg reopened it) stays: its archived copy is superseded.
      archived = done.filter((invoice) => data.invoices[invoice.uuid] === invoice).map((invoice) => invoice.uuid)
      const dropped = Object.entries(data.processed)
        .filter(([, transfers]) => transfers.every((t) => t.block < finalBlock))
        .map(([identity]) => identity)
      if (archived.length === 0 && dropped.length === 0) return 0
      seq = this.#apply({ seq: this.#nextSeq, archived, dropped })
    } finally {
      this.#passTurn()
    }
    await this.#durable(seq)
    return archived.length
  }

  availability(): StoreAvailability {
    if (this.#failure !== null) return { available: false, reason: this.#failure.message }
    if (this.#closed) return { available: false, reason: 'store is closed' }
    return { available: true }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // The transactions accepted before run first: close waits for their turn.
    await this.#takeTurn()
    try {
      await this.#drain()
      // A clean stop leaves everything in the snapshot and an empty journal.
      if (this.#failure === null && this.#journal.bytes > 0) await this.#snapshot()
    } finally {
      await this.#journal.close().catch(() => undefined)
      await this.#lock.release()
      await this.deadLetters.close()
      this.#passTurn()
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
