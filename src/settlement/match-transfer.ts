import type { AcceptedLog } from '../chain/log.ts'
import type { MerchantConfig } from '../config/schema.ts'
import { invoiceStatus, type Invoice } from './invoice.ts'

export type MatchTransferParameters = {
  log: Pick<AcceptedLog, 'address' | 'to' | 'from' | 'value'>
  /** The merchant that owns `log.to`, if any. */
  merchant: MerchantConfig | undefined
  /** The merchant's open invoices for this token and amount (any order). */
  candidates: readonly Invoice[]
  /** When the payment happened: the block's time if known, else when it was accepted. */
  paidAtMs: number
}

export type MatchTransferResult =
  | { kind: 'settle'; invoice: Invoice }
  /** A transfer to a merchant address that settles nothing: reported as `payment.unmatched`. */
  | { kind: 'unmatched'; merchantId: string }
  /** Not to any merchant's address: nothing to report. */
  | { kind: 'ignored' }

/**
 * SPEC §6: a transfer settles the merchant's oldest open invoice with the same token and
 * amount, a matching receive address (any of the merchant's when the invoice names none),
 * and the same payer when the invoice names one. An invoice expired when the payment
 * happened is not settled.
 */
export function matchTransfer(parameters: MatchTransferParameters): MatchTransferResult {
  const { log, merchant, candidates, paidAtMs } = parameters
  if (merchant === undefined) return { kind: 'ignored' }
  if (!merchant.tokens.includes(log.address)) return { kind: 'unmatched', merchantId: merchant.id }
  const match = candidates
    .filter(
      (invoice) =>
        invoice.merchantId === merchant.id &&
        invoice.token === log.address &&
        invoice.amount === log.value &&
        (invoice.receiveAddress === null || invoice.receiveAddress === log.to) &&
        (invoice.payer === null || invoice.payer === log.from) &&
        invoiceStatus(invoice, paidAtMs) === 'open',
    )
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.uuid.localeCompare(b.uuid))[0]
  return match === undefined ? { kind: 'unmatched', merchantId: merchant.id } : { kind: 'settle', invoice: match }
}
