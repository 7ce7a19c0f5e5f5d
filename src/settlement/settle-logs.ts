import { transferIdentity, type AcceptedLog } from '../chain/log.ts'
import type { MerchantConfig } from '../config/schema.ts'
import { queuedOutboxEntry, type OutboxEntry } from '../delivery/outbox-entry.ts'
import { webhookId } from '../delivery/webhook-id.ts'
import { openInvoiceKey, type OpenInvoiceKey, type ProcessedTransfer } from '../store/store.ts'
import type { Invoice, Settlement } from './invoice.ts'
import { matchTransfer } from './match-transfer.ts'
import { transferReceipt } from './transfer-receipt.ts'

/** What the settlement layer did with one accepted log, for logs and metrics (after commit). */
export type SettlementOutcome =
  | { kind: 'settled'; merchantId: string; invoiceUuid: string; log: AcceptedLog; webhookId: string; latencySeconds: number | null }
  | { kind: 'unmatched'; merchantId: string; log: AcceptedLog; webhookId: string }
  | { kind: 'reverted'; merchantId: string; invoiceUuid: string; log: AcceptedLog; webhookId: string }
  | { kind: 'duplicate'; log: AcceptedLog }

export type SettleLogsParameters = {
  /** A range's accepted logs, in chain order. */
  logs: readonly AcceptedLog[]
  /** The quorum head when they were accepted: a receipt's confirmations count up to it. */
  head: number
  chainId: number
  /** The merchant that owns each receive address. */
  owners: ReadonlyMap<string, MerchantConfig>
  /** For the logs' transfer identities, the store's records (`StoreReader.processedTransfers`). */
  processed: ReadonlyMap<string, readonly ProcessedTransfer[]>
  /** For `settlementKeys(logs)`, the store's open invoices (`StoreReader.openInvoices`). */
  openInvoices: ReadonlyMap<string, readonly Invoice[]>
  /** `invoice.settled` webhook ids the store holds already: the settlement they announce was made. */
  existingWebhookIds: ReadonlySet<string>
  /** When the logs are handled: `detected_at`, and the payment time of a log without its block's time. */
  nowMs: number
}

/** The changes to stage and what to report once they are committed. */
export type SettleLogsResult = {
  invoices: Invoice[]
  outbox: OutboxEntry[]
  /** The new records of each transfer identity handled (the store's plus this batch's). */
  processed: Map<string, ProcessedTransfer[]>
  outcomes: SettlementOutcome[]
  /**
   * The `invoice.settled` webhook ids of the settlements proposed, none of them in
   * `existingWebhookIds`: the caller asks the store whether any exists, and if some do, decides
   * again with them known (`existingWebhookIds`) until none of those proposed exists.
   */
  settledWebhookIds: string[]
}

/** The transfer identities of `logs`, each once: what `processed` must answer for. */
export function transferIdentities(logs: readonly AcceptedLog[]): string[] {
  return [...new Set(logs.map(transferIdentity))]
}

/** The open-invoice keys a log could settle (merchant, token, amount), each once: what `openInvoices` must answer for. */
export function settlementKeys(logs: readonly AcceptedLog[], owners: ReadonlyMap<string, MerchantConfig>): OpenInvoiceKey[] {
  const keys = new Map<string, OpenInvoiceKey>()
  for (const log of logs) {
    const merchant = owners.get(log.to)
    if (merchant === undefined || !merchant.tokens.includes(log.address)) continue
    const key = { merchantId: merchant.id, token: log.address, amount: log.value }
    keys.set(openInvoiceKey(key), key)
  }
  return [...keys.values()]
}

/**
 * Decides what a range's logs do, from what the store held before them (SPEC §6): each
 * transfer is handled once, its identity (transaction and content) recorded with how many
 * identical transfers were seen, so a re-read after a reorg or a repeated log is a duplicate;
 * a transfer to a merchant settles its oldest matching open invoice (`matchTransfer`), or is
 * reported as `payment.unmatched`. Within the batch it keeps track of what it changed: an
 * invoice it settled is no longer open to the logs after it, and a transfer it handled counts
 * for the identical ones after it. Pure: the caller reads the store before and stages the result.
 */
export function settleLogs(parameters: SettleLogsParameters): SettleLogsResult {
  const { logs, head, chainId, owners, processed, openInvoices, existingWebhookIds, nowMs } = parameters
  const at = new Date(nowMs).toISOString()
  const result: SettleLogsResult = { invoices: [], outbox: [], processed: new Map(), outcomes: [], settledWebhookIds: [] }
  const seenInBatch = new Map<string, number>()
  const settledInBatch = new Set<string>()
  for (const log of logs) {
    const identity = transferIdentity(log)
    const occurrence = seenInBatch.get(identity) ?? 0
    seenInBatch.set(identity, occurrence + 1)
    const handled = result.processed.get(identity) ?? processed.get(identity) ?? []
    if (occurrence < handled.length) {
      result.outcomes.push({ kind: 'duplicate', log })
      continue
    }
    const merchant = owners.get(log.to)
    const paidAtMs = log.blockTimestamp === undefined ? nowMs : log.blockTimestamp * 1000
    const open = merchant === undefined ? [] : (openInvoices.get(openInvoiceKey({ merchantId: merchant.id, token: log.address, amount: log.value })) ?? [])
    const match = matchTransfer({ log, merchant, candidates: open.filter((invoice) => !settledInBatch.has(invoice.uuid)), paidAtMs })
    if (match.kind === 'ignored') continue
    if (match.kind === 'settle') {
      const invoice = match.invoice
      const id = webhookId('settled', invoice.uuid, log.txHash)
      if (existingWebhookIds.has(id)) {
        result.outcomes.push({ kind: 'duplicate', log })
        continue
      }
      const settlement: Settlement = {
        txHash: log.txHash,
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
        logIndex: log.logIndex,
        from: log.from,
        to: log.to,
        providers: log.providers,
        detectedAt: at,
        settledAt: at,
        webhookId: id,
      }
      result.invoices.push({ ...invoice, status: 'settled', settlement, delivery: { webhookId: id, status: 'queued', attempts: 0, lastError: null, updatedAt: at } })
      const data = transferReceipt({ log, chainId, merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, head, detectedAt: at, settledAt: at })
      result.outbox.push(queuedOutboxEntry({ webhookId: id, merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, type: 'invoice.settled', data, at }))
      result.processed.set(identity, [...handled, { block: log.blockNumber, invoiceUuid: invoice.uuid }])
      result.settledWebhookIds.push(id)
      settledInBatch.add(invoice.uuid)
      result.outcomes.push({ kind: 'settled', merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, log, webhookId: id, latencySeconds: log.blockTimestamp === undefined ? null : Math.max(0, nowMs / 1000 - log.blockTimestamp) })
    } else {
      const id = webhookId('unmatched', `${identity}#${occurrence}`)
      const data = transferReceipt({ log, chainId, merchantId: match.merchantId, invoiceUuid: null, head, detectedAt: at, settledAt: null })
      result.outbox.push(queuedOutboxEntry({ webhookId: id, merchantId: match.merchantId, invoiceUuid: null, type: 'payment.unmatched', data, at }))
      result.processed.set(identity, [...handled, { block: log.blockNumber, invoiceUuid: null }])
      result.outcomes.push({ kind: 'unmatched', merchantId: match.merchantId, log, webhookId: id })
    }
  }
  return result
}
