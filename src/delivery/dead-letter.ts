import { displayUrl, maskSecrets, urlSecrets } from '../ops/redact.ts'
import type { OutboxEntry } from './outbox-entry.ts'
import type { WebhookEventType, WebhookPayload } from './webhook-payload.ts'

/**
 * One dead letter as the DLQ records it (SPEC §7 field names): a line of the JSONL file, or a
 * row of the PostgreSQL backend; the same shape whatever keeps it.
 */
export type DeadLetter = {
  kind: 'dead_letter'
  webhook_id: string
  merchant_id: string
  url: string
  type: WebhookEventType
  payload: WebhookPayload
  attempts: number
  first_attempt_at: string | null
  last_attempt_at: string | null
  last_error: string | null
  dead_at: string
}

/** Recorded when a replay delivered a dead letter: the DLQ stays an audit trail, never rewritten. */
export type ReplayMark = { kind: 'replayed'; webhook_id: string; replayed_at: string; status: number }

export type DeadLetterLine = DeadLetter | ReplayMark

/** A dead letter with what replays did to it. */
export type DeadLetterView = DeadLetter & { replayed_at: string | null }

export function deadLetterFromEntry(entry: OutboxEntry, url: string, deadAt: string): DeadLetter {
  return {
    kind: 'dead_letter',
    webhook_id: entry.webhookId,
    merchant_id: entry.merchantId,
    url,
    type: entry.payload.type,
    payload: entry.payload,
    attempts: entry.attempts,
    first_attempt_at: entry.firstAttemptAt,
    last_attempt_at: entry.lastAttemptAt,
    last_error: entry.lastError,
    dead_at: deadAt,
  }
}

/**
 * The dead letters, one per webhook id (a letter written twice, say after a crash, counts
 * once), each with its latest replay, in the order they died.
 */
export function foldDeadLetters(lines: readonly DeadLetterLine[]): DeadLetterView[] {
  const letters = new Map<string, DeadLetterView>()
  for (const line of lines) {
    if (line.kind === 'dead_letter') {
      const previous = letters.get(line.webhook_id)
      letters.delete(line.webhook_id)
      letters.set(line.webhook_id, { ...line, replayed_at: previous?.replayed_at ?? null })
    } else {
      const letter = letters.get(line.webhook_id)
      if (letter) letter.replayed_at = line.replayed_at
    }
  }
  return [...letters.values()]
}

/**
 * A dead letter as an operator sees it (`dlq list`): the webhook URL's userinfo and query
 * values masked, as merchants put tokens there, and any trace of them in the error. The file
 * keeps the URL whole: it is the audit trail, and a display never rewrites it.
 */
export function displayDeadLetter(letter: DeadLetterView): DeadLetterView {
  let secrets: string[] = []
  try {
    const parsed = new URL(letter.url)
    // Host and path stay visible; only what displayUrl masks is secret here.
    secrets = urlSecrets(letter.url).filter((part) => part !== parsed.pathname && part !== `${parsed.host}${parsed.pathname}` && !parsed.pathname.split('/').includes(part))
  } catch {
    secrets = [letter.url]
  }
  return { ...letter, url: displayUrl(letter.url), last_error: letter.last_error === null ? null : maskSecrets(letter.last_error, secrets) }
}
