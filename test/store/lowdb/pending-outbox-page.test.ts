import { describe, expect, it } from 'vitest'
import type { OutboxEntry } from '../../../src/delivery/outbox-entry.ts'
import { selectPendingOutboxPage } from '../../../src/store/lowdb/pending-outbox-page.ts'
import type { PendingOutboxQuery } from '../../../src/store/store.ts'
import { pendingEntry } from '../../support/outbox-entry.ts'

const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`
// Handed over in no particular order: the selection sorts.
const entries: OutboxEntry[] = [
  pendingEntry({ webhookId: 'msg_e', createdAt: at(4), merchantId: 'globex', state: 'retrying', attempts: 2 }),
  pendingEntry({ webhookId: 'msg_a', createdAt: at(1), merchantId: 'acme', state: 'queued' }),
  pendingEntry({ webhookId: 'msg_c', createdAt: at(2), merchantId: 'globex', state: 'in_flight', attempts: 1 }),
  pendingEntry({ webhookId: 'msg_b', createdAt: at(2), merchantId: 'acme', state: 'retrying', attempts: 1 }), // same instant as c: the id breaks the tie
  pendingEntry({ webhookId: 'msg_x', createdAt: at(0), merchantId: 'acme', state: 'delivered', attempts: 1 }), // final: never listed
  pendingEntry({ webhookId: 'msg_y', createdAt: at(3), merchantId: 'globex', state: 'dead', attempts: 8 }), // final: never listed
  pendingEntry({ webhookId: 'msg_d', createdAt: at(3), merchantId: 'acme', state: 'queued' }),
]
const ids = (query: PendingOutboxQuery) => {
  const page = selectPendingOutboxPage(entries, query)
  return { ids: page.entries.map((e) => e.webhookId), next: page.next }
}

describe('selectPendingOutboxPage: one row per query', () => {
  const rows: [string, PendingOutboxQuery, string[], PendingOutboxQuery['after'] | null][] = [
    ['every pending entry, oldest first, ties by webhook id; final ones left out', { limit: 10 }, ['msg_a', 'msg_b', 'msg_c', 'msg_d', 'msg_e'], null],
    ['a page shorter than the matches names its last entry as the next cursor', { limit: 2 }, ['msg_a', 'msg_b'], { createdAt: at(2), webhookId: 'msg_b' }],
    ['a page that ends exactly at the last match has no next page', { limit: 5 }, ['msg_a', 'msg_b', 'msg_c', 'msg_d', 'msg_e'], null],
    ['after a cursor: strictly after it, the tie at the same instant included', { limit: 10, after: { createdAt: at(2), webhookId: 'msg_b' } }, ['msg_c', 'msg_d', 'msg_e'], null],
    ['after the last entry: nothing', { limit: 10, after: { createdAt: at(4), webhookId: 'msg_e' } }, [], null],
    ['one state', { limit: 10, states: ['retrying'] }, ['msg_b', 'msg_e'], null],
    ['two states', { limit: 10, states: ['queued', 'in_flight'] }, ['msg_a', 'msg_c', 'msg_d'], null],
    ['no state at all: nothing', { limit: 10, states: [] }, [], null],
    ['one merchant', { limit: 10, merchantId: 'acme' }, ['msg_a', 'msg_b', 'msg_d'], null],
    ['a merchant with nothing pending', { limit: 10, merchantId: 'initech' }, [], null],
    ['state, merchant and cursor together', { limit: 1, states: ['queued', 'retrying'], merchantId: 'acme', after: { createdAt: at(1), webhookId: 'msg_a' } }, ['msg_b'], { createdAt: at(2), webhookId: 'msg_b' }],
  ]
  for (const [name, query, expected, next] of rows) {
    it(name, () => expect(ids(query)).toEqual({ ids: expected, next }))
  }

  it('paging until next is null visits every matching entry exactly once, whatever the page size', () => {
    for (let limit = 1; limit <= 6; limit++) {
      const seen: string[] = []
      let after: PendingOutboxQuery['after']
      for (let pages = 0; pages < 10; pages++) {
        const page = selectPendingOutboxPage(entries, { limit, ...(after ? { after } : {}) })
        seen.push(...page.entries.map((e) => e.webhookId))
        if (page.next === null) break
        after = page.next
      }
      expect(seen).toEqual(['msg_a', 'msg_b', 'msg_c', 'msg_d', 'msg_e'])
    }
  })

  it('refuses a limit that is not a whole number of at least 1', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => selectPendingOutboxPage(entries, { limit })).toThrow(RangeError)
  })
})
