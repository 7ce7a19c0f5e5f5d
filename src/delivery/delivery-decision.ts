/** What one delivery attempt came to. */
export type AttemptResult =
  | { status: number; retryAfter?: string | undefined }
  /** No HTTP answer: timeout, connection refused or reset. */
  | { error: string }

export type DeliveryDecision =
  | { kind: 'delivered' }
  | { kind: 'retry'; delayMs: number; reason: string }
  | { kind: 'dead'; reason: string }

export type RetrySchedule = { maxAttempts: number; initialDelayMs: number; maxDelayMs: number }

/**
 * Full-jitter exponential backoff: a uniform delay in `[0, min(max, initial * 2^(attempt-1))]`.
 * `random` is injected so the schedule is testable.
 */
export function retryDelayMs(attempt: number, schedule: Pick<RetrySchedule, 'initialDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(schedule.maxDelayMs, schedule.initialDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.floor(random() * ceiling)
}

/** `Retry-After` as delta seconds or an HTTP date, in milliseconds from `nowMs`; undefined when unusable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  // Only an IMF-fixdate (RFC 9110): V8's Date.parse reads "1.5" or "-5" as dates in 2001.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value.trim())) return undefined
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/**
 * SPEC §7: a 2xx delivers; 410 Gone dead-letters at once; a Retry-After on 429 or 503 is
 * honoured within `maxDelayMs`; anything else (3xx included), a timeout or a connection
 * error is a failed attempt, retried with backoff until `maxAttempts` attempts were made.
 */
export function decideDelivery(result: AttemptResult, attempt: number, schedule: RetrySchedule, nowMs: number, random: () => number = Math.random): DeliveryDecision {
  let reason: string
  let delayMs = retryDelayMs(attempt, schedule, random)
  if ('error' in result) reason = result.error
  else if (result.status >= 200 && result.status < 300) return { kind: 'delivered' }
  else if (result.status === 410) return { kind: 'dead', reason: 'HTTP 410 Gone: the endpoint says it is gone' }
  else {
    reason = `HTTP ${result.status}`
    if (result.status === 429 || result.status === 503) {
      const asked = parseRetryAfter(result.retryAfter, nowMs)
      if (asked !== undefined) delayMs = Math.min(asked, schedule.maxDelayMs)
    }
  }
  if (attempt >= schedule.maxAttempts) return { kind: 'dead', reason: `${reason} (after ${attempt} attempts)` }
  return { kind: 'retry', delayMs, reason }
}
