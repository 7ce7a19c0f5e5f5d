import type { Address, Hex } from 'viem'

export type WebhookEventType = 'invoice.settled' | 'invoice.reverted' | 'payment.unmatched'

/** The receipt bundle: everything a merchant needs to check the payment on chain by itself. */
export type WebhookData = {
  invoice_uuid: string | null
  merchant_id: string
  chain_id: number
  token: Address
  from: Address
  to: Address
  amount: string
  tx_hash: Hex
  block_number: number
  block_hash: Hex
  log_index: number
  /** Blocks on top of the log's block (its own included) when it was accepted. */
  confirmations: number
  providers: string[]
  detected_at: string
  settled_at: string | null
}

/** The JSON body of SPEC §7. It is fixed when the event is created and identical on every attempt. */
export type WebhookPayload = { type: WebhookEventType; timestamp: string; data: WebhookData }
