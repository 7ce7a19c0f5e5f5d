import type { ChainState } from '../chain/chain-state.ts'
import type { OutboxEntry, OutboxState } from '../delivery/outbox-entry.ts'
import type { Invoice } from '../settlement/invoice.ts'
import type { InvoiceCursor, InvoiceListQuery } from '../settlement/invoice-list-query.ts'

/** A transfer the settlement layer has handled, kept while a reorg could still take it back. */
export type ProcessedTransfer = { block: number; invoiceUuid: string | null }

/** Totals an operator sees; final records are counted here once they leave the hot store. */
export type StoreCounts = {
  invoices: { open: number; expired: number; settled: number }
  outbox: Record<OutboxState, number>
  /** Pending (queued, in flight, retrying) entries per merchant. */
  queueDepth: Record<string, number>
}

/** The states an entry waits in before its outcome is final. */
export type PendingOutboxState = 'queued' | 'in_flight' | 'retrying'

/**
 * One page of pending outbox entries (`settleproof outbox list`, the console): oldest first by
 * `createdAt`, then `webhookId`; `after` is the last entry of the previous page.
 */
export type PendingOutboxQuery = {
  states?: readonly PendingOutboxState[]
  merchantId?: string
  limit: number
  after?: { createdAt: string; webhookId: string }
}

/** What a transaction may read. */
export interface StoreReader {
  /** The reader's persisted position, or null for a new store. */
  getChainState(): ChainState | null
  /** An invoice in the hot store (open, or settled and not yet archived). */
  getInvoice(uuid: string): Invoice | undefined
  /** Open invoices of a merchant for exactly this token and amount, oldest first. */
  openInvoices(merchantId: string, token: string, amount: string): Invoice[]
  getOutboxEntry(webhookId: string): OutboxEntry | undefined
  /** Pending entries whose `nextAttemptAt` has come, oldest first, leaving out the merchants in `skip`. */
  dueOutboxEntries(nowMs: number, limit: number, skip?: ReadonlySet<string>): OutboxEntry[]
  /** A page of pending entries; `next` is the cursor of the following page, or null at the end. */
  listPendingOutbox(query: PendingOutboxQuery): { entries: OutboxEntry[]; next: { createdAt: string; webhookId: string } | null }
  /** How many times this transfer identity was already handled (a multiset: see settlement). */
  processedTransfers(identity: string): readonly ProcessedTransfer[]
  /** Whether a replay of this dead event was recorded already (`putReplayed`). */
  isReplayRecorded(webhookId: string): boolean
  /** Totals at `nowMs` (an open invoice past its `expires_at` counts as expired). */
  counts(nowMs?: number): StoreCounts
}

/** What a transaction may change. Changes become durable together when `transact` resolves. */
export interface StoreTx extends StoreReader {
  putChainState(state: ChainState): void
  putInvoice(invoice: Invoice): void
  /** Stores or replaces an entry; a final entry (delivered, dead) leaves the hot outbox and is counted. */
  putOutboxEntry(entry: OutboxEntry): void
  putProcessedTransfers(identity: string, transfers: readonly ProcessedTransfer[]): void
  /**
   * Records that `settleproof dlq replay` delivered this dead event: from then on it counts as
   * delivered, not dead, in `counts()`. Recording the same event again changes nothing.
   */
  putReplayed(webhookId: string): void
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
  /**
   * Reads the latest state, including changes whose write is still in flight.
   * @throws {StoreWriteError} after a write failed: memory may hold what the disk does not.
   */
  read<T>(fn: (reader: StoreReader) => T): T
  /** An invoice from the hot store or, once archived, from the archive; only once it is durable. */
  findInvoice(uuid: string): Promise<Invoice | undefined>
  /**
   * One page of a merchant's invoices, hot and archived, newest first (`GET /v1/invoices`);
   * `nowMs` decides which open invoices count as expired. Like `findInvoice`, it answers only
   * once what it saw is durable.
   * @throws {StoreWriteError} after a write failed.
   */
  listInvoices(merchantId: string, query: InvoiceListQuery, nowMs: number): Promise<{ invoices: Invoice[]; next: InvoiceCursor | null }>
  /** Whether an invoice with this uuid was ever stored (hot or archived). */
  hasInvoice(uuid: string): boolean
  /**
   * Moves what the loop no longer needs out of the hot store, so that the cost of an event
   * does not grow with history: settled invoices whose notification is final and whose block
   * is below `finalBlock` go to the archive, and processed-transfer records below it are dropped.
   * @returns how many invoices were archived.
   */
  compact(finalBlock: number): Promise<number>
  /** False once closed, or after a write failed (the store then refuses every read and transaction). */
  isOpen(): boolean
  /**
   * Rejects with the `StoreWriteError` as soon as a write fails; never resolves. The daemon
   * races it with its loops, so a storage failure stops the process at once, not at the next
   * transaction (on a quiet chain there may be none).
   */
  readonly failed: Promise<never>
  /** Waits for pending writes and releases the writer lock. */
  close(): Promise<void>
}
