import type { ChainState } from '../chain/chain-state.ts'
import type { DeadLetter, DeadLetterView, ReplayMark } from '../delivery/dead-letter.ts'
import type { OutboxEntry, OutboxState } from '../delivery/outbox-entry.ts'
import type { Invoice } from '../settlement/invoice.ts'
import type { InvoiceCursor, InvoiceListQuery } from '../settlement/invoice-list-query.ts'

/** A transfer the settlement layer has handled, kept while a reorg could still take it back. */
export type ProcessedTransfer = { block: number; invoiceUuid: string | null }

/** Totals an operator sees; both backends answer them without scanning history. */
export type StoreCounts = {
  invoices: { open: number; expired: number; settled: number }
  outbox: Record<OutboxState, number>
  /** Pending (queued, in flight, retrying) entries per merchant. */
  queueDepth: Record<string, number>
}

/** The open invoices a transfer could pay: one merchant, one token, one amount. */
export type OpenInvoiceKey = { merchantId: string; token: string; amount: string }

/** The map key of an `OpenInvoiceKey` in `openInvoices`' answer. */
export const openInvoiceKey = (key: OpenInvoiceKey): string => `${key.merchantId}|${key.token}|${key.amount}`

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

/**
 * What a transaction may read. Reads are batch-shaped where the reader's hot path needs many
 * (a range's logs): one round trip answers the whole batch on a networked backend. Inside a
 * transaction, reads see that transaction's own puts.
 */
export interface StoreReader {
  /** The reader's persisted position, or null for a new store. */
  getChainState(): Promise<ChainState | null>
  /** An invoice in the hot store (open, or settled and not yet archived). */
  getInvoice(uuid: string): Promise<Invoice | undefined>
  /** For each key, its open invoices, oldest first (keys with none are absent). Keyed by `openInvoiceKey`. */
  openInvoices(keys: readonly OpenInvoiceKey[]): Promise<Map<string, Invoice[]>>
  /**
   * The pending entries with these webhook ids, and any this transaction staged. A final entry
   * (delivered, dead) has left the hot outbox: a backend need not keep it, so none is answered.
   */
  getOutboxEntries(webhookIds: readonly string[]): Promise<Map<string, OutboxEntry>>
  /** Pending entries whose `nextAttemptAt` has come, in the order they were queued (oldest first), leaving out the merchants in `skip`. */
  dueOutboxEntries(nowMs: number, limit: number, skip?: ReadonlySet<string>): Promise<OutboxEntry[]>
  /** For each transfer identity, how many times it was already handled (a multiset: see settlement); absent = never. */
  processedTransfers(identities: readonly string[]): Promise<Map<string, readonly ProcessedTransfer[]>>
  /** A page of pending entries; `next` is the cursor of the following page, or null at the end. */
  listPendingOutbox(query: PendingOutboxQuery): Promise<{ entries: OutboxEntry[]; next: { createdAt: string; webhookId: string } | null }>
  /** Whether a replay of this dead event was recorded already (`putReplayed`). */
  isReplayRecorded(webhookId: string): Promise<boolean>
  /** Totals at `nowMs` (an open invoice past its `expires_at` counts as expired). */
  counts(nowMs?: number): Promise<StoreCounts>
}

/**
 * What a transaction may change. Puts are staged (synchronous, no I/O) and become durable
 * together when `transact` resolves; a networked backend writes them set-based at commit.
 */
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

/** Whether the store can serve now; `reason` says why not (never a URL or a password). */
export type StoreAvailability = { available: true } | { available: false; reason: string }

/**
 * The persistence seam. Nothing outside `src/store/` knows which backend runs (`openStore`
 * picks it from `storage.driver`): the embedded lowdb file, or PostgreSQL.
 */
export interface Store {
  /** Where the store is, for messages: a file path, or a database URL without its credentials. */
  readonly location: string
  /**
   * Runs `fn` as one transaction. Its puts are all persisted, atomically, before the returned
   * promise resolves; if `fn` throws, none of them are applied. `fn` may run more than once (a
   * networked backend retries a transaction aborted by a conflict), so it must have no effect
   * outside `tx`: what should happen after the commit is returned and run by the caller.
   * @throws {StoreWriteError} when the store refuses the write for good (fatal for the process).
   * @throws {StoreUnavailableError} when the database cannot be reached (transient: retry later).
   */
  transact<T>(fn: (tx: StoreTx) => Promise<T> | T): Promise<T>
  /** Reads the latest committed state (lowdb: including changes whose write is in flight). */
  read<T>(fn: (reader: StoreReader) => Promise<T> | T): Promise<T>
  /** An invoice from the hot store or, once archived, from the archive; only once it is durable. */
  findInvoice(uuid: string): Promise<Invoice | undefined>
  /**
   * One page of a merchant's invoices, newest first (`GET /v1/invoices`); `nowMs` decides which
   * open invoices count as expired. Answers only once what it saw is durable.
   */
  listInvoices(merchantId: string, query: InvoiceListQuery, nowMs: number): Promise<{ invoices: Invoice[]; next: InvoiceCursor | null }>
  /**
   * Keeps the cost of an event flat as history grows: what the loop no longer needs (settled,
   * notified invoices and processed-transfer records below `finalBlock`) leaves the hot set.
   * A backend whose indexes already do this may do little or nothing.
   * @returns how many invoices left the hot set.
   */
  compact(finalBlock: number): Promise<number>
  /** Whether it can serve now (for `/readyz`): false once closed, after a fatal write failure, or while the database is unreachable. */
  availability(): StoreAvailability
  /**
   * Rejects with the fatal error (a `StoreWriteError`) as soon as the store fails for good;
   * never resolves. The daemon races it with its loops. A database that is only unreachable
   * does not reject it (SPEC §9: not fatal).
   */
  readonly failed: Promise<never>
  /** The dead letters (lowdb: the `dlq.path` file; PostgreSQL: a table every replica sees, plus the local file). */
  readonly deadLetters: DeadLetters
  /** Waits for pending writes and releases what the store holds (lock, connections). */
  close(): Promise<void>
}

/**
 * The dead-letter queue. The JSONL line format (`DeadLetter`, `ReplayMark`) is the same
 * whatever keeps it. It can be opened without the store (`openDeadLetters`), so `dlq list`
 * and `dlq replay` run while the daemon holds the store.
 */
export interface DeadLetters {
  /** Records letters durably (a letter recorded twice counts once). */
  append(letters: readonly DeadLetter[]): Promise<void>
  /** Every letter, one per webhook id, with its latest replay, in the order they died. */
  list(): Promise<DeadLetterView[]>
  /** Records that a replay delivered the letter. */
  markReplayed(mark: ReplayMark): Promise<void>
  /** Runs `fn` while no other `dlq replay` (in any process sharing this DLQ) runs. */
  withReplayLock<T>(fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}
