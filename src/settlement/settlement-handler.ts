import { EventEmitter, type Event } from 'cockatiel'
import type { ChainEvent, ChainEventHandler } from '../chain/chain-reader.ts'
import { transferIdentity, type AcceptedLog } from '../chain/log.ts'
import type { Config, MerchantConfig } from '../config/schema.ts'
import { queuedOutboxEntry } from '../delivery/outbox-entry.ts'
import { webhookId } from '../delivery/webhook-id.ts'
import type { WebhookPayload } from '../delivery/webhook-payload.ts'
import type { StoreTx } from '../store/store.ts'
import type { Invoice, Settlement } from './invoice.ts'
import { matchTransfer } from './match-transfer.ts'

/** What the settlement layer did with one accepted log, for logs and metrics (after commit). */
export type SettlementOutcome =
  | { kind: 'settled'; merchantId: string; invoiceUuid: string; log: AcceptedLog; webhookId: string; latencySeconds: number | null }
  | { kind: 'unmatched'; merchantId: string; log: AcceptedLog; webhookId: string }
  | { kind: 'reverted'; merchantId: string; invoiceUuid: string; log: AcceptedLog; webhookId: string }
  | { kind: 'duplicate'; log: AcceptedLog }

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
 * Each transfer is handled once: its identity (transaction and content) is recorded with how
 * many identical transfers were seen, so a re-read after a reorg or a repeated log is dropped.
 */
export function createSettlementHandler(parameters: CreateSettlementHandlerParameters): SettlementHandler {
  const { config } = parameters
  const now = parameters.now ?? Date.now
  const outcomes = new EventEmitter<SettlementOutcome>()
  const owners = new Map<string, MerchantConfig>()
  for (const merchant of config.merchants) for (const address of merchant.receive_addresses) owners.set(address, merchant)

  function receipt(log: AcceptedLog, merchantId: string, invoiceUuid: string | null, head: number, at: string, settledAt: string | null): WebhookPayload['data'] {
    return {
      invoice_uuid: invoiceUuid,
      merchant_id: merchantId,
      chain_id: config.chain.id,
      token: log.address,
      from: log.from,
      to: log.to,
      amount: log.value,
      tx_hash: log.txHash,
      block_number: log.blockNumber,
      block_hash: log.blockHash,
      log_index: log.logIndex,
      confirmations: head - log.blockNumber + 1,
      providers: log.providers,
      detected_at: at,
      settled_at: settledAt,
    }
  }

  function onLogs(event: Extract<ChainEvent, { type: 'logs' }>, tx: StoreTx, done: SettlementOutcome[]) {
    const seenInBatch = new Map<string, number>()
    const at = new Date(now()).toISOString()
    for (const log of event.logs) {
      const identity = transferIdentity(log)
      const occurrence = seenInBatch.get(identity) ?? 0
      seenInBatch.set(identity, occurrence + 1)
      const processed = tx.processedTransfers(identity)
      if (occurrence < processed.length) {
        done.push({ kind: 'duplicate', log })
        continue
      }
      const merchant = owners.get(log.to)
      const paidAtMs = log.blockTimestamp === undefined ? now() : log.blockTimestamp * 1000
      const result = matchTransfer({ log, merchant, candidates: merchant ? tx.openInvoices(merchant.id, log.address, log.value) : [], paidAtMs })
      if (result.kind === 'ignored') continue
      if (result.kind === 'settle') {
        const invoice = result.invoice
        const id = webhookId('settled', invoice.uuid, log.txHash)
        if (tx.getOutboxEntry(id) !== undefined) {
          done.push({ kind: 'duplicate', log })
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
        tx.putInvoice({ ...invoice, status: 'settled', settlement, delivery: { webhookId: id, status: 'queued', attempts: 0, lastError: null, updatedAt: at } })
        tx.putOutboxEntry(queuedOutboxEntry({ webhookId: id, merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, type: 'invoice.settled', data: receipt(log, invoice.merchantId, invoice.uuid, event.head, at, at), at }))
        tx.putProcessedTransfers(identity, [...processed, { block: log.blockNumber, invoiceUuid: invoice.uuid }])
        done.push({ kind: 'settled', merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, log, webhookId: id, latencySeconds: log.blockTimestamp === undefined ? null : Math.max(0, now() / 1000 - log.blockTimestamp) })
      } else {
        const id = webhookId('unmatched', `${identity}#${occurrence}`)
        tx.putOutboxEntry(queuedOutboxEntry({ webhookId: id, merchantId: result.merchantId, invoiceUuid: null, type: 'payment.unmatched', data: receipt(log, result.merchantId, null, event.head, at, null), at }))
        tx.putProcessedTransfers(identity, [...processed, { block: log.blockNumber, invoiceUuid: null }])
        done.push({ kind: 'unmatched', merchantId: result.merchantId, log, webhookId: id })
      }
    }
  }

  function onReorg(event: Extract<ChainEvent, { type: 'reorg' }>, tx: StoreTx, done: SettlementOutcome[]) {
    const at = new Date(now()).toISOString()
    for (const log of event.removed) {
      const identity = transferIdentity(log)
      const processed = [...tx.processedTransfers(identity)]
      const taken = processed.pop()
      if (taken === undefined) continue
      tx.putProcessedTransfers(identity, processed)
      if (taken.invoiceUuid === null) continue
      const invoice: Invoice | undefined = tx.getInvoice(taken.invoiceUuid)
      if (invoice?.settlement == null || invoice.settlement.txHash !== log.txHash) continue
      const id = webhookId('reverted', invoice.uuid, log.txHash)
      tx.putInvoice({
        ...invoice,
        status: 'open',
        settlement: null,
        reverted: [...invoice.reverted, invoice.settlement],
        delivery: { webhookId: id, status: 'queued', attempts: 0, lastError: null, updatedAt: at },
      })
      tx.putOutboxEntry(queuedOutboxEntry({ webhookId: id, merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, type: 'invoice.reverted', data: receipt(log, invoice.merchantId, invoice.uuid, log.blockNumber - 1, at, null), at }))
      done.push({ kind: 'reverted', merchantId: invoice.merchantId, invoiceUuid: invoice.uuid, log, webhookId: id })
    }
  }

  return {
    onOutcome: outcomes.addListener,
    handler(event, tx) {
      const done: SettlementOutcome[] = []
      if (event.type === 'logs') onLogs(event, tx, done)
      else onReorg(event, tx, done)
      if (done.length === 0) return undefined
      return () => {
        if (done.some((outcome) => outcome.kind !== 'duplicate')) parameters.onNotificationsQueued?.()
        for (const outcome of done) outcomes.emit(outcome)
      }
    },
  }
}
