import { stat } from 'node:fs/promises'
import { EventEmitter, type Event } from 'cockatiel'
import type { Store } from '../store/store.ts'
import { foldDeadLetters, readDeadLetterLines } from './dead-letter-file.ts'

/** A dead event that `settleproof dlq replay` delivered, now recorded in the store. */
export type RecordedReplay = { webhookId: string; merchantId: string; invoiceUuid: string | null; type: string; replayedAt: string }

export type DlqReconciler = {
  /** Reads the DLQ file (only when it changed) and records new replays; returns them. */
  reconcile(): Promise<RecordedReplay[]>
  /** Each replay recorded, for logs and metrics. */
  readonly onRecorded: Event<RecordedReplay>
}

/**
 * Brings what `dlq replay` did (in another process, appending to the DLQ file) into the
 * store: a replayed event counts as delivered, not dead, in `status`, `/diagnostics` and the
 * metrics, and an invoice whose notification died and was then replayed shows it as
 * delivered. Each replay is recorded once, however often the file is read.
 */
export function createDlqReconciler(parameters: { dlqPath: string; store: Store }): DlqReconciler {
  const recorded = new EventEmitter<RecordedReplay>()
  let seenSize = -1
  return {
    onRecorded: recorded.addListener,
    async reconcile() {
      const size = await stat(parameters.dlqPath).then(
        (s) => s.size,
        () => 0,
      )
      if (size === seenSize) return []
      seenSize = size
      const replayed = foldDeadLetters(await readDeadLetterLines(parameters.dlqPath)).filter((letter) => letter.replayed_at !== null)
      if (replayed.length === 0) return []
      const news = await parameters.store.transact((tx) => {
        const found: RecordedReplay[] = []
        for (const letter of replayed) {
          if (tx.isReplayRecorded(letter.webhook_id)) continue
          tx.putReplayed(letter.webhook_id)
          const invoiceUuid = letter.payload.data.invoice_uuid
          found.push({ webhookId: letter.webhook_id, merchantId: letter.merchant_id, invoiceUuid, type: letter.type, replayedAt: letter.replayed_at! })
          const invoice = invoiceUuid === null ? undefined : tx.getInvoice(invoiceUuid)
          if (invoice?.delivery?.webhookId !== letter.webhook_id || invoice.delivery.status !== 'dead') continue
          tx.putInvoice({ ...invoice, delivery: { ...invoice.delivery, status: 'delivered', lastError: `dead-lettered, then replayed at ${letter.replayed_at}`, updatedAt: letter.replayed_at! } })
        }
        return found
      })
      for (const replay of news) recorded.emit(replay)
      return news
    },
  }
}
