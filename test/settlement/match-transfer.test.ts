import { describe, expect, it } from 'vitest'
import type { Address } from 'viem'
import type { MerchantConfig } from '../../src/config/schema.ts'
import type { Invoice } from '../../src/settlement/invoice.ts'
import { matchTransfer, type MatchTransferParameters } from '../../src/settlement/match-transfer.ts'

const addr = (digit: string): Address => `0x${digit.repeat(40)}` as Address

const TOKEN = addr('a')
const OTHER_TOKEN = addr('b')
const RECEIVE_1 = addr('1')
const RECEIVE_2 = addr('2')
const PAYER = addr('9')
const OTHER_PAYER = addr('8')

const NOW_MS = Date.parse('2030-01-01T12:00:00.000Z')

function merchant(overrides: Partial<MerchantConfig> = {}): MerchantConfig {
  return {
    id: 'm1',
    webhook_url: 'https://merchant.example/hooks',
    webhook_secret: ['whsec_MDEyMzQ1Njc4OWFiY2RlZg=='],
    api_key: 'key-m1-0123456789',
    receive_addresses: [RECEIVE_1, RECEIVE_2],
    tokens: [TOKEN],
    ...overrides,
  }
}

let uuidCounter = 0
function invoice(overrides: Partial<Invoice> = {}): Invoice {
  uuidCounter += 1
  return {
    uuid: `00000000-0000-4000-8000-${String(uuidCounter).padStart(12, '0')}`,
    merchantId: 'm1',
    token: TOKEN,
    amount: '1000',
    receiveAddress: null,
    payer: null,
    expiresAt: null,
    createdAt: '2030-01-01T10:00:00.000Z',
    status: 'open',
    requestHash: 'f'.repeat(64),
    settlement: null,
    delivery: null,
    reverted: [],
    ...overrides,
  }
}

type LogParams = MatchTransferParameters['log']
function log(overrides: Partial<LogParams> = {}): LogParams {
  return { address: TOKEN, to: RECEIVE_1, from: PAYER, value: '1000', ...overrides }
}

function match(parameters: Partial<MatchTransferParameters> & Pick<MatchTransferParameters, 'candidates'>) {
  return matchTransfer({ log: log(), merchant: merchant(), paidAtMs: NOW_MS, ...parameters })
}

function settledUuid(result: ReturnType<typeof matchTransfer>): string | undefined {
  return result.kind === 'settle' ? result.invoice.uuid : undefined
}

describe('matchTransfer', () => {
  it('settles the single matching open invoice, returning that very invoice', () => {
    const inv = invoice()
    const result = match({ candidates: [inv] })
    expect(result).toEqual({ kind: 'settle', invoice: inv })
    if (result.kind === 'settle') expect(result.invoice).toBe(inv)
  })

  it('chooses the oldest open invoice by createdAt whatever the candidate order', () => {
    const newest = invoice({ uuid: '00000000-0000-4000-8000-000000000001', createdAt: '2030-01-01T11:00:00.000Z' })
    const oldest = invoice({ uuid: '00000000-0000-4000-8000-000000000003', createdAt: '2030-01-01T09:00:00.000Z' })
    const middle = invoice({ uuid: '00000000-0000-4000-8000-000000000002', createdAt: '2030-01-01T10:00:00.000Z' })
    for (const candidates of [
      [newest, oldest, middle],
      [middle, newest, oldest],
      [oldest, middle, newest],
    ]) {
      expect(settledUuid(match({ candidates }))).toBe(oldest.uuid)
    }
  })

  it('breaks a createdAt tie by the smaller uuid', () => {
    const createdAt = '2030-01-01T10:00:00.000Z'
    const b = invoice({ uuid: 'bbbbbbbb-0000-4000-8000-000000000000', createdAt })
    const a = invoice({ uuid: 'aaaaaaaa-0000-4000-8000-000000000000', createdAt })
    const c = invoice({ uuid: 'cccccccc-0000-4000-8000-000000000000', createdAt })
    expect(settledUuid(match({ candidates: [b, c, a] }))).toBe(a.uuid)
    expect(settledUuid(match({ candidates: [c, b] }))).toBe(b.uuid)
  })

  it('does not mutate or reorder the candidates array', () => {
    const first = invoice({ createdAt: '2030-01-01T11:00:00.000Z' })
    const second = invoice({ createdAt: '2030-01-01T09:00:00.000Z' })
    const candidates = Object.freeze([first, second])
    expect(settledUuid(match({ candidates }))).toBe(second.uuid)
    expect(candidates).toEqual([first, second])
  })

  it('returns unmatched when there are no candidates', () => {
    expect(match({ candidates: [] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
  })

  it('returns unmatched on a token mismatch between invoice and log', () => {
    const m = merchant({ tokens: [TOKEN, OTHER_TOKEN] })
    const inv = invoice({ token: OTHER_TOKEN })
    expect(match({ merchant: m, candidates: [inv] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
  })

  it('returns unmatched on an amount mismatch (more, less, or same digits reordered)', () => {
    const inv = invoice({ amount: '1000' })
    for (const value of ['1001', '999', '0100', '10000']) {
      expect(match({ log: log({ value }), candidates: [inv] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
    }
  })

  it('picks the invoice with the matching amount among others', () => {
    const wrong = invoice({ amount: '999', createdAt: '2030-01-01T08:00:00.000Z' })
    const right = invoice({ amount: '1000', createdAt: '2030-01-01T10:00:00.000Z' })
    expect(settledUuid(match({ candidates: [wrong, right] }))).toBe(right.uuid)
  })

  it('matches an invoice with no receive address on any of the merchant addresses', () => {
    const inv = invoice({ receiveAddress: null })
    expect(settledUuid(match({ log: log({ to: RECEIVE_1 }), candidates: [inv] }))).toBe(inv.uuid)
    expect(settledUuid(match({ log: log({ to: RECEIVE_2 }), candidates: [inv] }))).toBe(inv.uuid)
  })

  it('matches an invoice naming a receive address only when it equals `to`', () => {
    const inv = invoice({ receiveAddress: RECEIVE_2 })
    expect(match({ log: log({ to: RECEIVE_1 }), candidates: [inv] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
    expect(settledUuid(match({ log: log({ to: RECEIVE_2 }), candidates: [inv] }))).toBe(inv.uuid)
  })

  it('skips an older invoice naming another receive address for a newer one that fits', () => {
    const olderElsewhere = invoice({ receiveAddress: RECEIVE_2, createdAt: '2030-01-01T08:00:00.000Z' })
    const newerAny = invoice({ receiveAddress: null, createdAt: '2030-01-01T09:00:00.000Z' })
    expect(settledUuid(match({ log: log({ to: RECEIVE_1 }), candidates: [olderElsewhere, newerAny] }))).toBe(newerAny.uuid)
  })

  it('matches an invoice naming a payer only when it equals `from`', () => {
    const inv = invoice({ payer: PAYER })
    expect(match({ log: log({ from: OTHER_PAYER }), candidates: [inv] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
    expect(settledUuid(match({ log: log({ from: PAYER }), candidates: [inv] }))).toBe(inv.uuid)
  })

  it('matches an invoice with no payer whoever pays', () => {
    const inv = invoice({ payer: null })
    expect(settledUuid(match({ log: log({ from: OTHER_PAYER }), candidates: [inv] }))).toBe(inv.uuid)
  })

  it('skips an older invoice for another payer and settles the newer fitting one', () => {
    const older = invoice({ payer: OTHER_PAYER, createdAt: '2030-01-01T08:00:00.000Z' })
    const newer = invoice({ payer: PAYER, createdAt: '2030-01-01T09:00:00.000Z' })
    expect(settledUuid(match({ candidates: [older, newer] }))).toBe(newer.uuid)
  })

  it('never chooses a settled invoice, even the oldest candidate', () => {
    const settled = invoice({ status: 'settled', createdAt: '2030-01-01T08:00:00.000Z' })
    const open = invoice({ createdAt: '2030-01-01T09:00:00.000Z' })
    expect(settledUuid(match({ candidates: [settled, open] }))).toBe(open.uuid)
    expect(match({ candidates: [settled] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
  })

  it("never chooses another merchant's invoice, even the oldest candidate", () => {
    const foreign = invoice({ merchantId: 'm2', createdAt: '2030-01-01T08:00:00.000Z' })
    const own = invoice({ createdAt: '2030-01-01T09:00:00.000Z' })
    expect(settledUuid(match({ candidates: [foreign, own] }))).toBe(own.uuid)
    expect(match({ candidates: [foreign] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
  })

  it('skips an invoice expired when the payment happened and settles the next one', () => {
    const expired = invoice({ createdAt: '2030-01-01T08:00:00.000Z', expiresAt: new Date(NOW_MS - 1).toISOString() })
    const next = invoice({ createdAt: '2030-01-01T09:00:00.000Z', expiresAt: new Date(NOW_MS + 60_000).toISOString() })
    expect(settledUuid(match({ candidates: [expired, next] }))).toBe(next.uuid)
    expect(match({ candidates: [expired] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
  })

  it('treats expires_at exactly equal to paidAtMs as expired', () => {
    const inv = invoice({ expiresAt: new Date(NOW_MS).toISOString() })
    expect(match({ candidates: [inv], paidAtMs: NOW_MS })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
    // One millisecond earlier the invoice is still open.
    expect(settledUuid(match({ candidates: [inv], paidAtMs: NOW_MS - 1 }))).toBe(inv.uuid)
  })

  it('judges expiry at paidAtMs, not at the wall clock', () => {
    // Expired long ago by the wall clock, but open when the (historical) payment happened.
    const paidAtMs = Date.parse('2001-01-01T00:00:00.000Z')
    const inv = invoice({ createdAt: '2000-12-31T00:00:00.000Z', expiresAt: '2001-01-02T00:00:00.000Z' })
    expect(settledUuid(match({ candidates: [inv], paidAtMs }))).toBe(inv.uuid)
  })

  it('ignores a transfer when the merchant is undefined, even with candidates', () => {
    expect(match({ merchant: undefined, candidates: [invoice()] })).toEqual({ kind: 'ignored' })
  })

  it("returns unmatched when the token is not one of the merchant's tokens, even if an invoice names it", () => {
    const m = merchant({ tokens: [OTHER_TOKEN] })
    const inv = invoice({ token: TOKEN })
    expect(match({ merchant: m, candidates: [inv] })).toEqual({ kind: 'unmatched', merchantId: 'm1' })
  })

  it("reports the merchant's own id when unmatched", () => {
    const m = merchant({ id: 'shop-42' })
    expect(match({ merchant: m, candidates: [invoice({ merchantId: 'shop-42', amount: '1' })] })).toEqual({ kind: 'unmatched', merchantId: 'shop-42' })
  })
})
