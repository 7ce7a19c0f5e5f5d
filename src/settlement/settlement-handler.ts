import { EventEmitter, type Event } from 'cockatiel'
import type { ChainEvent, ChainEventHandler } from '../chain/chain-reader.ts'
import { transferIdentity } from '../chain/log.ts'
import type { Config, MerchantConfig } from '../config/schema.ts'
import { queuedOutboxEntry } from '../delivery/outbox-entry.ts'
import { webhookId } from '../delivery/webhook-id.ts'
import type { ProcessedTransfer, StoreTx } from '../store/store.ts'
import type { Invoice } from './invoice.ts'
import { settleLogs, settlementKeys, transferIdentities, type SettleLogsResult, type SettlementOutcome } from './settle-logs.ts'
import { transferReceipt } from './transfer-receipt.ts'

export type { SettlementOutcome } from './settle-logs.ts'

export type SettlementHandler = {
  handler: ChainEventHandler
  readonly onOutcome: Event<SettlementOutcome>
}

export type CreateSettlementHandlerParameters = {
  config: Config
  now?: () => number
  /** Called once after a commit that queued notifications: the outbox wakes on it instead of polling. */
  onNotificationsQueued?: () => void
}

/**
 * Turns accepted logs into settled invoices and outbox entries, in the reader's transaction:
 * the settlement and the notification announcing it are written together or not at all.
 * A range's logs cost a fixed number of batch reads whatever their number (their transfer
 * records, the open invoices they could pay, the settlements they propose), then `settleLogs`
 * decides. The transaction may run again: everything here goes through `tx`, and what is
 * reported after the commit is returned.
 */
export function createSettlementHandler(parameters: CreateSettlementHandlerParameters): SettlementHandler {
  const { config } = parameters
  const now = parameters.now ?? Date.now
  const outcomes = new EventEmitter<SettlementOutcome>()
  const owners = new Map<string, MerchantConfig>()
  for (const merchant of config.merchants) for (const address of merchant.receive_addresses) owners.set(address, merchant)

  async function onLogs(event: Extract<ChainEvent, { type: 'logs' }>, tx: StoreTx): Promise<SettlementOutcome[]> {
    if (event.logs.length === 0) return []
    const processed = await tx.processedTransfers(transferIdentities(event.logs))
    const keys = settlementKeys(event.logs, owners)
    const openInvoices = keys.length === 0 ? new Map<string, Invoice[]>() : await tx.openInvoices(keys)
    const nowMs = now()
    // A settlement whose webhook id the outbox holds already was made before (a re-read): the
    // decision is taken again with it known, until none of the settlements proposed exists.
    // It ends: each pass knows at least one more id, out of finitely many (invoice, transaction) pairs.
    const existingWebhookIds = new Set<string>()
    let decided: SettleLogsResult
    for (;;) {
      decided = settleLogs({ logs: event.logs, head: event.head, chainId: config.chain.id, owners, processed, openInvoices, existingWebhookIds, nowMs })
      if (decided.settledWebhookIds.length === 0) break
      const existing = await tx.getOutboxEntries(decided.settledWebhookIds)
      if (existing.size === 0) break
      for (const id of existing.keys()) existingWebhookIds.add(id)
    }
    for (const invoice of decided.invoices) tx.putInvoice(invoice)
    for (const entry of decided.outbox) tx.putOutboxEntry(entry)
    for (const [identity, transfers] of decided.processed) tx.putProcessedTransfers(identity, transfers)
    return decided.outcomes
  }

  async function onReorg(event: Extract<ChainEvent, { type: 'reorg' }>, tx: StoreTx): Promise<SettlementOutcome[]> {
    if (event.removed.length === 0) return []
    const done: SettlementOutcome[] = []
    const at = new Date(now()).toISOString()
    const stored = await tx.processedTransfers(transferIdentities(event.removed))
    /** The records as this reorg leaves them, for identities it already took from. */
    const remaining = new Map<string, ProcessedTransfer[]>()
    for (const log of event.removed) {
      const identity = transferIdentity(log)
      const processed = [...(remaining.get(identity) ?? stored.get(identity) ?? [])]
      const taken = processed.pop()
      if (taken === undefined) continue
      remaining.set(identity, processed)
      tx.putProcessedTransfers(identity, processed)
      if (taken.invoiceUuid === null) continue
      const invoice = await tx.getInvoice(taken.invoiceUuid)
      if (invoice?.settlement == null || invoice.settlement.txHash !== log.txHash) continue
      const id = webhookId('reverted', invoice.uuid, log.txHash)
      tx.putInvoice({
        ...invoice,
        status: 'open',
        settlement: null,
        reverted: [...invoice.reverted, invoice.settlement],
        delivery: { webhookId: id, status: 'queued', attempts: 0, lastError: null, updatedAt: at },
      })
      const data = transferReceipt({ log, chainId: config.chain.id, merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, head: log.blockNumber - 1, detectedAt: at, settledAt: null })
      tx.putOutboxEntry(queuedOutboxEntry({ webhookId: id, merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, type: 'invoice.reverted', data, at }))
      done.push({ kind: 'reverted', merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, log, webhookId: id })
    }
    return done
  }

  return {
    onOutcome: outcomes.addListener,
    async handler(event, tx) {
      const done = event.type === 'logs' ? await onLogs(event, tx) : await onReorg(event, tx)
      if (done.length === 0) return undefined
      return () => {
        if (done.some((outcome) => outcome.kind !== 'duplicate')) parameters.onNotificationsQueued?.()
        for (const outcome of done) outcomes.emit(outcome)
      }
    },
  }
}
