import type { AcceptedLog } from '../chain/log.ts'
import type { WebhookData } from '../delivery/webhook-payload.ts'

export type TransferReceiptParameters = {
  log: AcceptedLog
  chainId: number
  merchantId: string
  invoiceUuid: string | null
  /** The block the confirmations are counted up to (its own block counts as one). */
  head: number
  /** When the quorum accepted the log (ISO-8601). */
  detectedAt: string
  settledAt: string | null
}

/** The receipt bundle of a webhook (SPEC §7): everything a merchant needs to check the transfer on chain by itself. */
export function transferReceipt(parameters: TransferReceiptParameters): WebhookData {
  const { log } = parameters
  return {
    invoice_uuid: parameters.invoiceUuid,
    merchant_id: parameters.merchantId,
    chain_id: parameters.chainId,
    token: log.address,
    from: log.from,
    to: log.to,
    amount: log.value,
    tx_hash: log.txHash,
    block_number: log.blockNumber,
    block_hash: log.blockHash,
    log_index: log.logIndex,
    confirmations: parameters.head - log.blockNumber + 1,
    providers: log.providers,
    detected_at: parameters.detectedAt,
    settled_at: parameters.settledAt,
  }
}
