import { EventEmitter, type Event } from 'cockatiel'
import type { DeadLetters, Store } from '../store/store.ts'

/** A dead event that `settleproof dlq replay` delivered, now recorded in the store. */
export type RecordedReplay = { webhookId: string; merchantId: string; invoiceUuid: string | null; type: string; replayedAt: string }

export type DlqReconciler = {
  /** Reads the dead letters and records new replays; returns them. */
  reconcile(): Promise<RecordedReplay[]>
  /** Each replay recorded, for logs and metrics. */
  readonly onRecorded: Event<RecordedReplay>
}

/**
 * Brings what `dlq replay` did (in another process, through the same dead letters) into the
 * store: a replayed event counts as delivered, not dead, in `status`, `/diagnostics` and the
 * metrics, and an invoice whose notification died and was then replayed shows it as
 * delivered. Each replay is recorded once, however often the dead letters are read; the
 * replays it has seen recorded are remembered, so a pass with nothing new costs one `list()`
 * and no transaction.
 */
export function createDlqReconciler(parameters: { deadLetters: DeadLetters; store: Store }): DlqReconciler {
  const { deadLetters, store } = parameters
  const recorded = new EventEmitter<RecordedReplay>()
  /** Webhook ids whose replay the store holds (recorded here, or found recorded). */
  const known = new Set<string>()
  return {
    onRecorded: recorded.addListener,
    async reconcile() {
      const replayed = (await deadLetters.list()).filter((letter) => letter.replayed_at !== null && !known.has(letter.webhook_id))
      if (replayed.length === 0) return []
      const news = await store.transact(async (tx) => {
        const found: RecordedReplay[] = []
        for (const letter of replayed) {
          if (await tx.isReplayRecorded(letter.webhook_id)) continue
          tx.putReplayed(letter.webhook_id)
          const invoiceUuid = letter.payload.data.invoice_uuid
          found.push({ webhookId: letter.webhook_id, merchantId: letter.merchant_id, invoiceUuid, type: letter.type, replayedAt: letter.replayed_at! })
          const invoice = invoiceUuid === null ? undefined : await tx.getInvoice(invoiceUuid)
          if (invoice?.delivery?.webhookId !== letter.webhook_id || invoice.delivery.status !== 'dead') continue
          tx.putInvoice({ ...invoice, delivery: { ...invoice.delivery, status: 'delivered', lastError: `dead-lettered, then replayed at ${letter.replayed_at}`, updatedAt: letter.replayed_at! } })
        }
        return found
      })
      for (const letter of replayed) known.add(letter.webhook_id)
      for (const replay of news) recorded.emit(replay)
      return news
    },
  }
}
