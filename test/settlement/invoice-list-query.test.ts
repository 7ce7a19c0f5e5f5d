import { describe, expect, it } from 'vitest'
import {
  DEFAULT_LIST_LIMIT,
  decodeInvoiceCursor,
  encodeInvoiceCursor,
  parseInvoiceListQuery,
  selectInvoicePage,
  type InvoiceListEntry,
  type InvoiceListQuery,
} from '../../src/settlement/invoice-list-query.ts'

const parse = (query: string) => parseInvoiceListQuery(new URLSearchParams(query))

describe('parseInvoiceListQuery', () => {
  it('defaults: every status, no bounds, 20 a page, from the newest', () => {
    expect(parse('')).toEqual({ ok: true, query: { status: null, createdAfter: null, createdBefore: null, limit: DEFAULT_LIST_LIMIT, after: null } })
  })
  it('reads every parameter, normalising times to UTC', () => {
    const cursor = encodeInvoiceCursor({ createdAt: '2026-01-02T00:00:00.000Z', uuid: 'b' })
    expect(parse(`status=settled&created_after=2026-01-01T01:00:00%2B01:00&created_before=2026-02-01T00:00:00Z&limit=100&cursor=${cursor}`)).toEqual({
      ok: true,
      query: { status: 'settled', createdAfter: '2026-01-01T00:00:00.000Z', createdBefore: '2026-02-01T00:00:00.000Z', limit: 100, after: { createdAt: '2026-01-02T00:00:00.000Z', uuid: 'b' } },
    })
  })
  const bad: [string, string][] = [
    ['status=paid', 'status'],
    ['status=', 'status'],
    ['created_after=yesterday', 'created_after'],
    ['created_after=2026-01-01', 'created_after'], // no time, no zone: ambiguous
    ['created_before=2026-13-01T00:00:00Z', 'created_before'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=2.5', 'limit'],
    ['limit=-1', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from('["x","y"]').toString('base64url')}`, 'cursor'],
    ['page=2', 'page'],
    ['status=open&status=settled', 'status'],
  ]
  for (const [query, path] of bad) it(`refuses ${query} naming ${path}`, () => expect(parse(query)).toMatchObject({ ok: false, path }))
})

describe('invoice cursors', () => {
  it('round-trip, and refuse anything else', () => {
    const cursor = { createdAt: '2026-03-04T05:06:07.089Z', uuid: '3f1c3f5e-8a38-4d2b-9f4e-0d6f2b1d9a11' }
    expect(decodeInvoiceCursor(encodeInvoiceCursor(cursor))).toEqual(cursor)
    for (const text of ['', '!!!', Buffer.from('{}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) expect(decodeInvoiceCursor(text)).toBeUndefined()
  })
})

describe('selectInvoicePage', () => {
  const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`
  const entries: InvoiceListEntry[] = [
    { uuid: 'a', createdAt: at(1), status: 'settled' },
    { uuid: 'b', createdAt: at(2), status: 'open' },
    { uuid: 'c', createdAt: at(2), status: 'expired' }, // same instant as b: uuid breaks the tie
    { uuid: 'd', createdAt: at(3), status: 'settled' },
    { uuid: 'e', createdAt: at(4), status: 'open' },
  ]
  const query = (overrides: Partial<InvoiceListQuery> = {}): InvoiceListQuery => ({ status: null, createdAfter: null, createdBefore: null, limit: 20, after: null, ...overrides })
  const uuids = (result: { page: InvoiceListEntry[] }) => result.page.map((e) => e.uuid)

  it('lists newest first, ties by uuid descending', () => expect(uuids(selectInvoicePage(entries, query()))).toEqual(['e', 'd', 'c', 'b', 'a']))
  it('filters by status and by creation time, bounds excluded', () => {
    expect(uuids(selectInvoicePage(entries, query({ status: 'settled' })))).toEqual(['d', 'a'])
    expect(uuids(selectInvoicePage(entries, query({ createdAfter: at(1), createdBefore: at(4) })))).toEqual(['d', 'c', 'b'])
  })
  it('pages with cursors, every invoice exactly once, even across equal creation times', () => {
    const seen: string[] = []
    let after: InvoiceListQuery['after'] = null
    for (let pages = 0; pages < 10; pages++) {
      const result: { page: InvoiceListEntry[]; next: InvoiceListQuery['after'] } = selectInvoicePage(entries, query({ limit: 2, after }))
      seen.push(...uuids(result))
      if (result.next === null) break
      after = result.next
    }
    expect(seen).toEqual(['e', 'd', 'c', 'b', 'a'])
  })
  it('has no next cursor when the page holds the last match', () => {
    expect(selectInvoicePage(entries, query({ limit: 5 })).next).toBeNull()
    expect(selectInvoicePage(entries, query({ limit: 4 })).next).toEqual({ createdAt: at(2), uuid: 'b' })
  })
})
