import type { Config } from '../config/schema.ts'
import { acquireWriterLock } from '../store/writer-lock.ts'
import { appendDeadLetterLines, foldDeadLetters, readDeadLetterLines, type DeadLetterView } from './dead-letter-file.ts'
import { sendWebhook, type SendWebhookParameters } from './webhook-sender.ts'
import type { AttemptResult } from './delivery-decision.ts'

export type ReplayOutcome =
  | { webhookId: string; result: 'replayed'; status: number; merchantId: string; type: string; invoiceUuid: string | null }
  | { webhookId: string; result: 'failed'; reason: string }
  | { webhookId: string; result: 'would_replay'; merchantId: string; type: string }
  | { webhookId: string; result: 'skipped'; reason: string }

export type ReplayParameters = {
  config: Config
  /** Webhook ids to replay; with `all`, every dead letter not yet replayed. */
  ids: readonly string[]
  all: boolean
  dryRun: boolean
  send?: (parameters: SendWebhookParameters) => Promise<AttemptResult>
}

/**
 * Re-sends dead letters with their original `webhook-id` and payload, once each, to the
 * merchant's current `webhook_url` and secrets. A success appends a `replayed` line: the
 * file is never rewritten, so the daemon can keep appending to it meanwhile. One replay at a
 * time (a lock beside the file) so two operators do not send everything twice.
 */
export async function replayDeadLetters(parameters: ReplayParameters): Promise<ReplayOutcome[]> {
  const { config } = parameters
  const send = parameters.send ?? sendWebhook
  const lock = parameters.dryRun ? null : await acquireWriterLock(`${config.dlq.path}.replay`, 'dlq.path')
  try {
    const letters = foldDeadLetters(await readDeadLetterLines(config.dlq.path))
    const byId = new Map(letters.map((letter) => [letter.webhook_id, letter]))
    const selected: (DeadLetterView | string)[] = parameters.all ? letters.filter((l) => l.replayed_at === null) : parameters.ids.map((id) => byId.get(id) ?? id)
    const outcomes: ReplayOutcome[] = []
    for (const letter of selected) {
      if (typeof letter === 'string') {
        outcomes.push({ webhookId: letter, result: 'skipped', reason: 'no dead letter with this id' })
        continue
      }
      if (letter.replayed_at !== null) {
        outcomes.push({ webhookId: letter.webhook_id, result: 'skipped', reason: `already replayed at ${letter.replayed_at}` })
        continue
      }
      const merchant = config.merchants.find((m) => m.id === letter.merchant_id)
      if (merchant === undefined) {
        outcomes.push({ webhookId: letter.webhook_id, result: 'failed', reason: `merchant ${letter.merchant_id} is not in the configuration` })
        continue
      }
      if (parameters.dryRun) {
        outcomes.push({ webhookId: letter.webhook_id, result: 'would_replay', merchantId: merchant.id, type: letter.type })
        continue
      }
      const result = await send({ url: merchant.webhook_url, secrets: merchant.webhook_secret, webhookId: letter.webhook_id, payload: letter.payload, timeoutMs: config.webhooks.timeout_ms })
      if (!('error' in result) && result.status >= 200 && result.status < 300) {
        await appendDeadLetterLines(config.dlq.path, [{ kind: 'replayed', webhook_id: letter.webhook_id, replayed_at: new Date().toISOString(), status: result.status }])
        outcomes.push({ webhookId: letter.webhook_id, result: 'replayed', status: result.status, merchantId: merchant.id, type: letter.type, invoiceUuid: letter.payload.data.invoice_uuid })
      } else {
        outcomes.push({ webhookId: letter.webhook_id, result: 'failed', reason: 'error' in result ? result.error : `HTTP ${result.status}` })
      }
    }
    return outcomes
  } finally {
    await lock?.release()
  }
}
