import { createHash } from 'node:crypto'
import type { Address } from 'viem'
import { isEvmAddress } from '../chain/address.ts'
import { z } from 'zod'

const MAX_UINT256 = 2n ** 256n - 1n
const address = z
  .string({ error: 'must be an address string' })
  .refine(isEvmAddress, { error: 'must be an address: 0x and 40 hex digits (valid checksum if mixed-case)' })
  .transform((v) => v.toLowerCase() as Address)

/** An ISO-8601 date-time with a zone that names a real calendar day (Date.parse rolls 02-30 over to March). */
function isRealDateTime(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(value)
  if (match === null || Number.isNaN(Date.parse(value))) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const calendar = new Date(Date.UTC(year, month - 1, day))
  return calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day && Number(match[4]) < 24 && Number(match[5]) < 60
}

/** The body of `POST /v1/invoices` (SPEC §6). Unknown fields are refused, not ignored. */
const createInvoiceSchema = z.strictObject({
  uuid: z
    .string({ error: 'must be a UUID string' })
    .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, { error: 'must be a UUID' })
    .transform((v) => v.toLowerCase()),
  token: address,
  amount: z
    .string({ error: 'must be a decimal string of base units (not a JSON number, which loses precision)' })
    .regex(/^[0-9]{1,78}$/, { error: 'must be a decimal string of base units' })
    .transform((v) => BigInt(v))
    .refine((v) => v > 0n && v <= MAX_UINT256, { error: 'must be greater than 0 and fit in uint256' })
    .transform((v) => v.toString()),
  receive_address: address.nullish().transform((v) => v ?? null),
  payer: address.nullish().transform((v) => v ?? null),
  expires_at: z
    .string({ error: 'must be an ISO-8601 date-time string' })
    .refine(isRealDateTime, {
      error: 'must be an ISO-8601 date-time with a time zone, e.g. 2030-01-31T12:00:00Z',
    })
    .transform((v) => new Date(v).toISOString())
    .nullish()
    .transform((v) => v ?? null),
})

export type CreateInvoiceRequest = z.output<typeof createInvoiceSchema>

export type ParseResult = { ok: true; request: CreateInvoiceRequest; fingerprint: string } | { ok: false; path: string; message: string }

/**
 * Validates a create request and fingerprints its normalised content: two requests for
 * the same invoice written differently (address case, leading zeros) are the same request.
 */
export function parseCreateInvoice(body: unknown): ParseResult {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, path: '', message: 'body must be a JSON object' }
  const parsed = createInvoiceSchema.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    if (issue.code === 'unrecognized_keys') return { ok: false, path: issue.keys[0] ?? '', message: 'unknown field' }
    const path = issue.path.join('.')
    const first = issue.path[0]
    const missing = issue.code === 'invalid_type' && issue.path.length === 1 && typeof first === 'string' && !Object.hasOwn(body, first)
    return { ok: false, path, message: missing ? 'is required' : issue.message }
  }
  const request = parsed.data
  const fingerprint = createHash('sha256').update(JSON.stringify([request.uuid, request.token, request.amount, request.receive_address, request.payer, request.expires_at])).digest('hex')
  return { ok: true, request, fingerprint }
}
