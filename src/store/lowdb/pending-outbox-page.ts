import type { OutboxEntry } from '../../delivery/outbox-entry.ts'
import type { PendingOutboxQuery, PendingOutboxState } from '../store.ts'

/** Every state an entry waits in before its outcome is final, in the order an entry passes them. */
export const PENDING_OUTBOX_STATES: readonly PendingOutboxState[] = ['queued', 'in_flight', 'retrying']

/** Where a page of pending entries ends: its last entry's creation time and webhook id. */
export type PendingOutboxCursor = NonNullable<PendingOutboxQuery['after']>

export type PendingOutboxPage = { entries: OutboxEntry[]; next: PendingOutboxCursor | null }

const isPending = (state: OutboxEntry['state']): state is PendingOutboxState => (PENDING_OUTBOX_STATES as readonly string[]).includes(state)

/** Oldest first: creation time, then webhook id, so the order is total and a cursor is exact. */
export function oldestFirst(a: PendingOutboxCursor, b: PendingOutboxCursor): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.webhookId < b.webhookId ? -1 : a.webhookId > b.webhookId ? 1 : 0
}

/**
 * One page of `listPendingOutbox` from every entry a backend holds (final ones are skipped
 * whatever the query says): the entries in `states` (every pending state when absent, none
 * when empty) of `merchantId` (any when absent), oldest first, strictly after `after`, at most
 * `limit`. `next` is the last entry of the page when more match after it, else null, so paging
 * until `next` is null visits each matching entry exactly once.
 * @throws {RangeError} `limit` is not a whole number of at least 1.
 */
export function selectPendingOutboxPage(entries: Iterable<OutboxEntry>, query: PendingOutboxQuery): PendingOutboxPage {
  if (!Number.isInteger(query.limit) || query.limit < 1) throw new RangeError(`limit must be a whole number of at least 1, got ${query.limit}`)
  const states = new Set<string>(query.states ?? PENDING_OUTBOX_STATES)
  const matching: OutboxEntry[] = []
  for (const entry of entries) {
    if (!isPending(entry.state) || !states.has(entry.state)) continue
    if (query.merchantId !== undefined && entry.merchantId !== query.merchantId) continue
    if (query.after !== undefined && oldestFirst(entry, query.after) <= 0) continue
    matching.push(entry)
  }
  matching.sort(oldestFirst)
  const page = matching.slice(0, query.limit)
  const last = page.at(-1)
  return { entries: page, next: matching.length > query.limit && last !== undefined ? { createdAt: last.createdAt, webhookId: last.webhookId } : null }
}
