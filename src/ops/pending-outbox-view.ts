import type { OutboxEntry } from '../delivery/outbox-entry.ts'
import { maskSecrets } from './redact.ts'

/** A pending event as `settleproof outbox list` and the console show it (SPEC §3, §11). */
export type PendingOutboxView = {
  webhook_id: string
  merchant_id: string
  type: string
  invoice_uuid: string | null
  state: OutboxEntry['state']
  attempts: number
  /** When it is sent next; null for an event queued to go as soon as it can. */
  next_attempt_at: string | null
  created_at: string
  last_attempt_at: string | null
  last_error: string | null
}

/** The entry as shown: no payload (the receipt is the merchant's), its last error with any secret masked. */
export function pendingOutboxView(entry: OutboxEntry, secrets: readonly string[]): PendingOutboxView {
  return {
    webhook_id: entry.webhookId,
    merchant_id: entry.merchantId,
    type: entry.payload.type,
    invoice_uuid: entry.invoiceUuid,
    state: entry.state,
    attempts: entry.attempts,
    next_attempt_at: entry.nextAttemptAt > 0 ? new Date(entry.nextAttemptAt).toISOString() : null,
    created_at: entry.createdAt,
    last_attempt_at: entry.lastAttemptAt,
    last_error: entry.lastError === null ? null : maskSecrets(entry.lastError, secrets),
  }
}
