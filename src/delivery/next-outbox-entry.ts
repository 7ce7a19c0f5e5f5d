import type { DeliveryDecision } from './delivery-decision.ts'
import type { OutboxEntry } from './outbox-entry.ts'

/**
 * One step in an outbox entry's life:
 * - `start`: the entry was chosen for an attempt and is recorded in flight before it is sent;
 * - `refused`: the merchant's own breaker refused the attempt, so nothing was sent;
 * - a `DeliveryDecision` (delivered, retry, dead): what the merchant's answer came to.
 */
export type OutboxStep = { kind: 'start' } | { kind: 'refused'; probeAt: number } | DeliveryDecision

/**
 * The entry after `step` at `nowMs`; pure, so every transition is in one table.
 *
 * `start` counts the attempt when the entry is marked in flight, before anything is sent: a
 * crash mid-send leaves it in flight, and it is sent again on the next start, counted.
 * A decision applies to that in-flight entry.
 *
 * `refused` applies to the entry as it waited before `start`: the attempt never reached the
 * merchant, so it is not counted and does not use up the retry budget (a dead letter's
 * `attempts` is the number of requests the merchant got). The entry waits, as it was, until
 * `probeAt`, when the breaker lets a probe through.
 */
export function nextOutboxEntry(entry: OutboxEntry, step: OutboxStep, nowMs: number): OutboxEntry {
  switch (step.kind) {
    case 'start': {
      const at = new Date(nowMs).toISOString()
      return { ...entry, state: 'in_flight', attempts: entry.attempts + 1, firstAttemptAt: entry.firstAttemptAt ?? at, lastAttemptAt: at }
    }
    case 'refused':
      return { ...entry, nextAttemptAt: Math.max(entry.nextAttemptAt, step.probeAt) }
    case 'delivered':
      return { ...entry, state: 'delivered', lastError: null }
    case 'retry':
      return { ...entry, state: 'retrying', nextAttemptAt: nowMs + step.delayMs, lastError: step.reason }
    case 'dead':
      return { ...entry, state: 'dead', lastError: step.reason }
  }
}
