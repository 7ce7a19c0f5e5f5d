import { PENDING_OUTBOX_STATES, type PendingOutboxCursor } from '../store/lowdb/pending-outbox-page.ts'
import type { PendingOutboxQuery, PendingOutboxState } from '../store/store.ts'

export const DEFAULT_PENDING_LIMIT = 50
export const MAX_PENDING_LIMIT = 500
const PARAMETERS = ['status', 'merchant', 'limit', 'cursor']

export type ParsedPendingOutboxQuery = { ok: true; query: PendingOutboxQuery } | { ok: false; path: string; message: string }

/**
 * The states named by `--status` or `?status=` (each value may list several, comma-separated),
 * or undefined for every pending state; a name that is not a pending state is refused.
 */
export function parsePendingStates(values: readonly string[]): { ok: true; states: PendingOutboxState[] | undefined } | { ok: false; message: string } {
  const names = values.flatMap((value) => value.split(',')).map((name) => name.trim())
  if (names.length === 0) return { ok: true, states: undefined }
  const unknown = names.find((name) => !(PENDING_OUTBOX_STATES as readonly string[]).includes(name))
  if (unknown !== undefined) return { ok: false, message: `"${unknown}" is not a pending state: use ${PENDING_OUTBOX_STATES.join(', ')}` }
  return { ok: true, states: [...new Set(names)] as PendingOutboxState[] }
}

/** `GET /v1/ops/outbox?status=&merchant=&limit=&cursor=`, validated; the first problem names its parameter. */
export function parsePendingOutboxQuery(parameters: URLSearchParams): ParsedPendingOutboxQuery {
  for (const name of new Set(parameters.keys())) {
    if (!PARAMETERS.includes(name)) return { ok: false, path: name, message: `is not a parameter: use ${PARAMETERS.join(', ')}` }
    if (name !== 'status' && parameters.getAll(name).length > 1) return { ok: false, path: name, message: 'is given more than once' }
  }
  const states = parsePendingStates(parameters.getAll('status').filter((value) => value !== ''))
  if (!states.ok) return { ok: false, path: 'status', message: states.message }
  const merchantId = parameters.get('merchant')
  if (merchantId !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(merchantId)) return { ok: false, path: 'merchant', message: 'is not a merchant id' }
  const limitText = parameters.get('limit')
  const limit = limitText === null ? DEFAULT_PENDING_LIMIT : /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN
  if (!(limit >= 1 && limit <= MAX_PENDING_LIMIT)) return { ok: false, path: 'limit', message: `must be a whole number from 1 to ${MAX_PENDING_LIMIT}` }
  const cursorText = parameters.get('cursor')
  const after = cursorText === null ? undefined : decodePendingCursor(cursorText)
  if (cursorText !== null && after === undefined) return { ok: false, path: 'cursor', message: 'is not a cursor this API returned (use next_cursor as it is)' }
  return {
    ok: true,
    query: { limit, ...(states.states === undefined ? {} : { states: states.states }), ...(merchantId === null ? {} : { merchantId }), ...(after === undefined ? {} : { after }) },
  }
}

/** An opaque cursor: base64url of the last entry's creation time and webhook id. */
export function encodePendingCursor(cursor: PendingOutboxCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.webhookId])).toString('base64url')
}

/** The cursor, or undefined when the text is not one `encodePendingCursor` made. */
export function decodePendingCursor(text: string): PendingOutboxCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string' || Number.isNaN(Date.parse(value[0]))) return undefined
    return { createdAt: value[0], webhookId: value[1] }
  } catch {
    return undefined
  }
}
