import { describe, expect, it } from 'vitest'
import { DEFAULT_PENDING_LIMIT, decodePendingCursor, encodePendingCursor, parsePendingOutboxQuery, parsePendingStates } from '../../src/ops/pending-outbox-query.ts'

const parse = (query: string) => parsePendingOutboxQuery(new URLSearchParams(query))

describe('parsePendingOutboxQuery (GET /v1/ops/outbox)', () => {
  it('defaults: every pending state, every merchant, the first page', () => {
    expect(parse('')).toEqual({ ok: true, query: { limit: DEFAULT_PENDING_LIMIT } })
  })
  it('reads states (comma-separated or repeated), the merchant, the limit and the cursor', () => {
    const cursor = encodePendingCursor({ createdAt: '2026-01-01T00:00:00.000Z', webhookId: 'msg_a' })
    expect(parse(`status=queued,retrying&status=in_flight&merchant=acme&limit=500&cursor=${cursor}`)).toEqual({
      ok: true,
      query: { states: ['queued', 'retrying', 'in_flight'], merchantId: 'acme', limit: 500, after: { createdAt: '2026-01-01T00:00:00.000Z', webhookId: 'msg_a' } },
    })
    expect(parse('status=')).toEqual({ ok: true, query: { limit: DEFAULT_PENDING_LIMIT } }) // the console's "any pending"
  })
  const bad: [string, string][] = [
    ['status=dead', 'status'],
    ['status=queued,delivered', 'status'],
    ['merchant=a%20b', 'merchant'],
    ['merchant=a&merchant=b', 'merchant'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=1.5', 'limit'],
    ['cursor=nope', 'cursor'],
    [`cursor=${Buffer.from('["not a date","x"]').toString('base64url')}`, 'cursor'],
    ['page=2', 'page'],
  ]
  for (const [query, path] of bad) it(`refuses ${query} naming ${path}`, () => expect(parse(query)).toMatchObject({ ok: false, path }))
})

describe('parsePendingStates (outbox list --status)', () => {
  it('none given: every pending state; duplicates once; anything else refused', () => {
    expect(parsePendingStates([])).toEqual({ ok: true, states: undefined })
    expect(parsePendingStates(['retrying', 'retrying,queued'])).toEqual({ ok: true, states: ['retrying', 'queued'] })
    expect(parsePendingStates(['sent'])).toEqual({ ok: false, message: '"sent" is not a pending state: use queued, in_flight, retrying' })
  })
  it('cursors round-trip', () => {
    const cursor = { createdAt: '2026-03-04T05:06:07.089Z', webhookId: 'msg_2b0f' }
    expect(decodePendingCursor(encodePendingCursor(cursor))).toEqual(cursor)
    expect(decodePendingCursor('!!')).toBeUndefined()
  })
})
