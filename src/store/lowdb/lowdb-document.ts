import type { ChainState } from '../../chain/chain-state.ts'
import { OUTBOX_STATES, type OutboxEntry, type OutboxState } from '../../delivery/outbox-entry.ts'
import { invoiceStatus, type Invoice } from '../../settlement/invoice.ts'
import { documentBodySchema, formatPath } from './store-schema.ts'
import type { ProcessedTransfer, StoreCounts } from '../store.ts'

export const FORMAT = 'settleproof-store'
export const VERSION = 1

/** The document the lowdb backend keeps (the snapshot file). Private to `src/store/lowdb/`. */
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
  /** Dead events a `dlq replay` delivered, recorded once each: counted delivered, no longer dead. */
  replayed: string[]
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
  /** Dead events delivered by a replay (their webhook ids). */
  replayed?: string[]
}

export function emptyDocument(): Document {
  return { format: FORMAT, version: VERSION, journalSeq: 0, chain: null, invoices: {}, outbox: {}, processed: {}, totals: { settledArchived: 0, delivered: 0, dead: 0 }, replayed: [] }
}

/** A snapshot read back: the document, or why it is not one (with the path of the first problem). */
export type ParsedDocument = { document: Document } | { problem: string }

/**
 * Checks a parsed snapshot against the store schema (store-schema.ts): every invoice, outbox
 * entry and the chain state, so a file of the wrong shape is refused at open, naming the first
 * problem, instead of failing later deep in the reader (`blocks.find is not a function`) or
 * being rewritten. Keys the first release left out are filled with their empty values.
 */
export function parseDocument(value: unknown): ParsedDocument {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: 'not a JSON object' }
  const { format, version, ...body } = value as Record<string, unknown>
  if (format !== FORMAT) return { problem: 'not a settleproof store' }
  if (version !== VERSION) return { problem: `store version ${String(version)} is not supported by this release` }
  const parsed = documentBodySchema.safeParse(body)
  if (!parsed.success) return { problem: `${formatPath(parsed.error.issues[0]!.path)}: ${parsed.error.issues[0]!.message}` }
  return { document: { format: FORMAT, version: VERSION, ...parsed.data } }
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
  for (const webhookId of changes.replayed ?? []) {
    if (document.replayed.includes(webhookId)) continue
    document.replayed.push(webhookId)
    document.totals.delivered++
    document.totals.dead = Math.max(0, document.totals.dead - 1)
  }
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
