import type { Config } from '../config/schema.ts'
import { openDeadLetters } from '../store/open-store.ts'
import type { DeadLetters } from '../store/store.ts'
import type { DeadLetterView } from './dead-letter.ts'
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
 * merchant's current `webhook_url` and secrets. A success is recorded as a replay mark (the
 * DLQ is never rewritten, so the daemon can keep dead-lettering meanwhile). One replay at a
 * time (`withReplayLock`), so two operators do not send everything twice.
 */
export async function replayDeadLetters(parameters: ReplayParameters): Promise<ReplayOutcome[]> {
  const deadLetters = await openDeadLetters(parameters.config)
  try {
    return parameters.dryRun ? await replay(deadLetters, parameters) : await deadLetters.withReplayLock(() => replay(deadLetters, parameters))
  } finally {
    await deadLetters.close()
  }
}

async function replay(deadLetters: DeadLetters, parameters: ReplayParameters): Promise<ReplayOutcome[]> {
  const { config } = parameters
  const send = parameters.send ?? sendWebhook
  const letters = await deadLetters.list()
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
      await deadLetters.markReplayed({ kind: 'replayed', webhook_id: letter.webhook_id, replayed_at: new Date().toISOString(), status: result.status })
      outcomes.push({ webhookId: letter.webhook_id, result: 'replayed', status: result.status, merchantId: merchant.id, type: letter.type, invoiceUuid: letter.payload.data.invoice_uuid })
    } else {
      outcomes.push({ webhookId: letter.webhook_id, result: 'failed', reason: 'error' in result ? result.error : `HTTP ${result.status}` })
    }
  }
  return outcomes
}
