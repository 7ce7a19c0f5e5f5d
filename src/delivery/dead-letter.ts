import type { WebhookEventType, WebhookPayload } from './webhook-payload.ts'

/** One dead letter as written to the DLQ file (SPEC §7 field names). */
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

/** Appended when a replay delivered a dead letter: the file stays an audit trail, never rewritten. */
export type ReplayMark = { kind: 'replayed'; webhook_id: string; replayed_at: string; status: number }

export type DeadLetterLine = DeadLetter | ReplayMark

/** A dead letter with what replays did to it. */
export type DeadLetterView = DeadLetter & { replayed_at: string | null }

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
