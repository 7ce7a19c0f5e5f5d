import type { WebhookEventType, WebhookPayload } from './webhook-payload.ts'

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

/** A new event, queued: the body is fixed now and sent identically on every attempt. */
export function queuedOutboxEntry(parameters: { webhookId: string; merchantId: string; invoiceUuid: string | null; type: WebhookEventType; data: WebhookPayload['data']; at: string }): OutboxEntry {
  const { webhookId, merchantId, invoiceUuid, type, data, at } = parameters
  return {
    webhookId,
    merchantId,
    invoiceUuid,
    payload: { type, timestamp: at, data },
    state: 'queued',
    attempts: 0,
    nextAttemptAt: 0,
    createdAt: at,
    firstAttemptAt: null,
    lastAttemptAt: null,
    lastError: null,
  }
}
