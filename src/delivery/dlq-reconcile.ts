import { stat } from 'node:fs/promises'
import type { Store } from '../store/store.ts'
import { foldDeadLetters, readDeadLetterLines } from './dead-letter-file.ts'

/**
 * Brings what `dlq replay` did (in another process, appending to the DLQ file) into the
 * store: an invoice whose notification died and was then replayed shows it as delivered.
 * Reads the file only when it has changed. Returns how many invoices it updated.
 */
export function createDlqReconciler(parameters: { dlqPath: string; store: Store }): () => Promise<number> {
  let seenSize = -1
  return async () => {
    const size = await stat(parameters.dlqPath).then(
      (s) => s.size,
      () => 0,
    )
    if (size === seenSize) return 0
    seenSize = size
    const replayed = foldDeadLetters(await readDeadLetterLines(parameters.dlqPath)).filter((letter) => letter.replayed_at !== null && letter.payload.data.invoice_uuid !== null)
    if (replayed.length === 0) return 0
    return parameters.store.transact((tx) => {
      let updated = 0
      for (const letter of replayed) {
        const invoice = tx.getInvoice(letter.payload.data.invoice_uuid!)
        if (invoice?.delivery?.webhookId !== letter.webhook_id || invoice.delivery.status !== 'dead') continue
        tx.putInvoice({ ...invoice, delivery: { ...invoice.delivery, status: 'delivered', lastError: `dead-lettered, then replayed at ${letter.replayed_at}`, updatedAt: letter.replayed_at! } })
        updated++
      }
      return updated
    })
  }
}
