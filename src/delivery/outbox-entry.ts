import type { WebhookPayload } from './webhook-payload.ts'

/**
 * queued → in_flight → delivered | retrying | dead; retrying → in_flight again.
 * An entry found `in_flight` at start-up was interrupted by a crash and is sent again.
 */
export type OutboxState = 'queued' | 'in_flight' | 'retrying' | 'delivered' | 'dead'

export const OUTBOX_STATES: readonly OutboxState[] = ['queued', 'in_flight', 'retrying', 'delivered', 'dead']

/** One notification in the durable outbox. */
export type OutboxEntry = {
  /** `webhook-id`: stable across retries and replays. */
  webhookId: string
  merchantId: string
  invoiceUuid: string | null
  payload: WebhookPayload
  state: OutboxState
  attempts: number
  /** Epoch ms before which the entry is not sent. */
  nextAttemptAt: number
  createdAt: string
  firstAttemptAt: string | null
  lastAttemptAt: string | null
  lastError: string | null
}
