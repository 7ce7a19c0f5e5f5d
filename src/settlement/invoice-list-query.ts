import type { InvoiceStatus } from './invoice.ts'

/** Where a page ends: the last invoice shown, by creation time then uuid (newest first). */
export type InvoiceCursor = { createdAt: string; uuid: string }

/** `GET /v1/invoices` parameters, validated. Times are ISO-8601 strings in UTC, compared as such. */
export type InvoiceListQuery = {
  status: InvoiceStatus | null
  /** Only invoices created strictly after this instant. */
  createdAfter: string | null
  /** Only invoices created strictly before this instant. */
  createdBefore: string | null
  limit: number
  /** Continue after this invoice (from `next_cursor`). */
  after: InvoiceCursor | null
}

/** What the list needs to know of an invoice to place and filter it, without reading it whole. */
export type InvoiceListEntry = { uuid: string; createdAt: string; status: InvoiceStatus }

export const DEFAULT_LIST_LIMIT = 20
export const MAX_LIST_LIMIT = 100
const STATUSES: readonly InvoiceStatus[] = ['open', 'settled', 'expired']
const PARAMETERS = ['status', 'created_after', 'created_before', 'limit', 'cursor']

export type ParsedInvoiceListQuery = { ok: true; query: InvoiceListQuery } | { ok: false; path: string; message: string }

/** Validates the query string of `GET /v1/invoices`; the first problem is reported with its parameter. */
export function parseInvoiceListQuery(parameters: URLSearchParams): ParsedInvoiceListQuery {
  for (const name of new Set(parameters.keys())) {
    if (!PARAMETERS.includes(name)) return { ok: false, path: name, message: `is not a parameter: use ${PARAMETERS.join(', ')}` }
    if (parameters.getAll(name).length > 1) return { ok: false, path: name, message: 'is given more than once' }
  }
  const status = parameters.get('status')
  if (status !== null && !STATUSES.includes(status as InvoiceStatus)) return { ok: false, path: 'status', message: `must be one of ${STATUSES.join(', ')}` }
  const times: Record<'created_after' | 'created_before', string | null> = { created_after: null, created_before: null }
  for (const name of ['created_after', 'created_before'] as const) {
    const value = parameters.get(name)
    if (value === null) continue
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : Number.NaN
    if (Number.isNaN(ms)) return { ok: false, path: name, message: 'must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T12:00:00Z' }
    times[name] = new Date(ms).toISOString()
  }
  const limitText = parameters.get('limit')
  const limit = limitText === null ? DEFAULT_LIST_LIMIT : /^\d{1,3}$/.test(limitText) ? Number(limitText) : Number.NaN
  if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) return { ok: false, path: 'limit', message: `must be a whole number from 1 to ${MAX_LIST_LIMIT}` }
  const cursorText = parameters.get('cursor')
  const after = cursorText === null ? null : decodeInvoiceCursor(cursorText)
  if (after === undefined) return { ok: false, path: 'cursor', message: 'is not a cursor this API returned (use next_cursor as it is)' }
  return { ok: true, query: { status: status as InvoiceStatus | null, createdAfter: times.created_after, createdBefore: times.created_before, limit, after } }
}

/** An opaque cursor: base64url of the last invoice's creation time and uuid. */
export function encodeInvoiceCursor(cursor: InvoiceCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.uuid])).toString('base64url')
}

/** The cursor, or undefined when the text is not one `encodeInvoiceCursor` made. */
export function decodeInvoiceCursor(text: string): InvoiceCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string' || Number.isNaN(Date.parse(value[0]))) return undefined
    return { createdAt: value[0], uuid: value[1] }
  } catch {
    return undefined
  }
}

/** Newest first; equal times by uuid, descending, so the order is total and a cursor is exact. */
export function newestFirst(a: InvoiceCursor, b: InvoiceCursor): number {
  return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.uuid < b.uuid ? 1 : a.uuid > b.uuid ? -1 : 0
}

/**
 * One page of a merchant's invoices: `entries` filtered by the query, newest first, after the
 * cursor, at most `limit`; `next` is the cursor of the page after, or null on the last page.
 * The store hands in every candidate (hot and archived); it reads whole only the ones chosen.
 */
export function selectInvoicePage<T extends InvoiceListEntry>(entries: Iterable<T>, query: InvoiceListQuery): { page: T[]; next: InvoiceCursor | null } {
  const matching: T[] = []
  for (const entry of entries) {
    if (query.status !== null && entry.status !== query.status) continue
    if (query.createdAfter !== null && !(entry.createdAt > query.createdAfter)) continue
    if (query.createdBefore !== null && !(entry.createdAt < query.createdBefore)) continue
    if (query.after !== null && newestFirst(entry, query.after) <= 0) continue
    matching.push(entry)
  }
  matching.sort(newestFirst)
  const page = matching.slice(0, query.limit)
  const last = page.at(-1)
  return { page, next: matching.length > query.limit && last !== undefined ? { createdAt: last.createdAt, uuid: last.uuid } : null }
}
