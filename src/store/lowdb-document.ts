import type { ChainState } from '../chain/chain-state.ts'
import { OUTBOX_STATES, type OutboxEntry, type OutboxState } from '../delivery/outbox-entry.ts'
import { invoiceStatus, type Invoice } from '../settlement/invoice.ts'
import type { ProcessedTransfer, StoreCounts } from './store.ts'

export const FORMAT = 'settleproof-store'
export const VERSION = 1

/** The document the lowdb backend keeps (the snapshot file). Private to `src/store/`. */
export type Document = {
  format: typeof FORMAT
  version: typeof VERSION
  /** The last journal record this snapshot includes; later records are replayed on open. */
  journalSeq: number
  chain: ChainState | null
  invoices: Record<string, Invoice>
  /** Pending entries only: final ones leave and are counted in `totals`. */
  outbox: Record<string, OutboxEntry>
  processed: Record<string, ProcessedTransfer[]>
  totals: { settledArchived: number; delivered: number; dead: number }
}

/** One committed transaction as the journal records it: the new values, replayable in order. */
export type Changes = {
  seq: number
  chain?: ChainState
  invoices?: Invoice[]
  outbox?: OutboxEntry[]
  processed?: [identity: string, transfers: ProcessedTransfer[]][]
  /** Invoices moved to the archive (compaction). */
  archived?: string[]
  /** Processed-transfer records dropped below the reorg window (compaction). */
  dropped?: string[]
}

export function emptyDocument(): Document {
  return { format: FORMAT, version: VERSION, journalSeq: 0, chain: null, invoices: {}, outbox: {}, processed: {}, totals: { settledArchived: 0, delivered: 0, dead: 0 } }
}

/** Why a parsed snapshot is not a store, or undefined when it is (filling keys older releases lacked). */
export function validateDocument(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object'
  const document = value as Partial<Document>
  if (document.format !== FORMAT) return 'not a settleproof store'
  if (document.version !== VERSION) return `store version ${String(document.version)} is not supported by this release`
  document.journalSeq ??= 0
  for (const key of ['invoices', 'outbox', 'processed', 'totals'] as const) {
    if (document[key] === undefined) (document as Record<string, unknown>)[key] = emptyDocument()[key]
    else if (typeof document[key] !== 'object' || document[key] === null) return `"${key}" is not an object`
  }
  return undefined
}

export const isFinal = (state: OutboxState) => state === 'delivered' || state === 'dead'

/**
 * Applies one transaction's changes to the document: on commit, and again when the journal is
 * replayed at start-up, so both paths give the same state. `onInvoice` keeps indexes in step.
 */
export function applyChanges(document: Document, changes: Changes, onInvoice?: (next: Invoice | undefined, previous: Invoice | undefined) => void): void {
  if (changes.chain !== undefined) document.chain = changes.chain
  for (const invoice of changes.invoices ?? []) {
    onInvoice?.(invoice, document.invoices[invoice.uuid])
    document.invoices[invoice.uuid] = invoice
  }
  for (const entry of changes.outbox ?? []) {
    if (isFinal(entry.state)) {
      if (document.outbox[entry.webhookId] !== undefined || entry.attempts > 0) document.totals[entry.state === 'delivered' ? 'delivered' : 'dead']++
      delete document.outbox[entry.webhookId]
    } else document.outbox[entry.webhookId] = entry
  }
  for (const [identity, transfers] of changes.processed ?? []) {
    if (transfers.length === 0) delete document.processed[identity]
    else document.processed[identity] = transfers
  }
  for (const uuid of changes.archived ?? []) {
    const previous = document.invoices[uuid]
    if (previous === undefined) continue
    onInvoice?.(undefined, previous)
    delete document.invoices[uuid]
    document.totals.settledArchived++
  }
  for (const identity of changes.dropped ?? []) delete document.processed[identity]
}

export function countDocument(data: Document, nowMs: number): StoreCounts {
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
