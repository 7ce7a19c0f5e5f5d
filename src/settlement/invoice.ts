import type { Address, Hex } from 'viem'
import type { OutboxState } from '../delivery/outbox-entry.ts'

/** The proof an invoice was paid: the accepted log and who agreed on it. */
export type Settlement = {
  txHash: Hex
  blockNumber: number
  blockHash: Hex
  logIndex: number
  from: Address
  to: Address
  providers: string[]
  /** When the quorum accepted the log (ISO-8601). */
  detectedAt: string
  settledAt: string
  /** The `invoice.settled` event's webhook id. */
  webhookId: string
}

/** What the merchant can learn of the notification about this invoice. */
export type DeliveryStatus = {
  webhookId: string
  status: OutboxState
  attempts: number
  lastError: string | null
  updatedAt: string
}

/** Stored invoice. `status` is `open` or `settled`; `expired` is derived at read time. */
export type Invoice = {
  uuid: string
  merchantId: string
  token: Address
  /** Base units, decimal, no leading zeros. */
  amount: string
  receiveAddress: Address | null
  payer: Address | null
  expiresAt: string | null
  createdAt: string
  status: 'open' | 'settled'
  /** Fingerprint of the create request, for idempotent retries (same body → same invoice). */
  requestHash: string
  settlement: Settlement | null
  delivery: DeliveryStatus | null
  /** Settlements a reorg took back, oldest first. */
  reverted: Settlement[]
}

export type InvoiceStatus = 'open' | 'settled' | 'expired'

/** The status a merchant sees: an open invoice past `expires_at` is expired. */
export function invoiceStatus(invoice: Invoice, nowMs: number): InvoiceStatus {
  if (invoice.status === 'settled') return 'settled'
  return invoice.expiresAt !== null && Date.parse(invoice.expiresAt) <= nowMs ? 'expired' : 'open'
}

/** The invoice as the HTTP API returns it (SPEC §6 field names). */
export function invoiceResource(invoice: Invoice, nowMs: number) {
  const s = invoice.settlement
  return {
    uuid: invoice.uuid,
    merchant_id: invoice.merchantId,
    token: invoice.token,
    amount: invoice.amount,
    receive_address: invoice.receiveAddress,
    payer: invoice.payer,
    expires_at: invoice.expiresAt,
    created_at: invoice.createdAt,
    status: invoiceStatus(invoice, nowMs),
    settlement:
      s === null
        ? null
        : {
            tx_hash: s.txHash,
            block_number: s.blockNumber,
            block_hash: s.blockHash,
            log_index: s.logIndex,
            from: s.from,
            to: s.to,
            providers: s.providers,
            detected_at: s.detectedAt,
            settled_at: s.settledAt,
          },
    delivery:
      invoice.delivery === null
        ? null
        : { webhook_id: invoice.delivery.webhookId, status: invoice.delivery.status, attempts: invoice.delivery.attempts, last_error: invoice.delivery.lastError, updated_at: invoice.delivery.updatedAt },
    reverted: invoice.reverted.map((r) => ({ tx_hash: r.txHash, block_number: r.blockNumber, log_index: r.logIndex })),
  }
}

export type InvoiceResource = ReturnType<typeof invoiceResource>
