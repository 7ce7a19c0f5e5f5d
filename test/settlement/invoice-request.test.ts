import { describe, expect, it } from 'vitest'
import { getAddress } from 'viem'
import { parseCreateInvoice, type ParseResult } from '../../src/settlement/invoice-request.ts'

const UUID = '123e4567-e89b-42d3-a456-426614174000'
const TOKEN = '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'
const RECEIVE = '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359'
const PAYER = '0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb'
const MAX_UINT256 = (2n ** 256n - 1n).toString()

const minimal = () => ({ uuid: UUID, token: TOKEN, amount: '1000' })

function ok(result: ParseResult) {
  if (!result.ok) throw new Error(`expected ok, got ${result.path}: ${result.message}`)
  return result
}

function fail(result: ParseResult) {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.request)}`)
  return result
}

describe('parseCreateInvoice: valid bodies', () => {
  it('accepts a minimal body and fills the optional fields with null', () => {
    const result = ok(parseCreateInvoice(minimal()))
    expect(result.request).toEqual({ uuid: UUID, token: TOKEN, amount: '1000', receive_address: null, payer: null, expires_at: null })
    expect(result.fingerprint).toMatch(/^[0-9a-f]{64}$/)
  })

  it('accepts every field', () => {
    const result = ok(parseCreateInvoice({ ...minimal(), receive_address: RECEIVE, payer: PAYER, expires_at: '2030-01-31T12:00:00Z' }))
    expect(result.request).toEqual({ uuid: UUID, token: TOKEN, amount: '1000', receive_address: RECEIVE, payer: PAYER, expires_at: '2030-01-31T12:00:00.000Z' })
  })

  it('accepts explicit nulls for the optional fields', () => {
    const result = ok(parseCreateInvoice({ ...minimal(), receive_address: null, payer: null, expires_at: null }))
    expect(result.request).toMatchObject({ receive_address: null, payer: null, expires_at: null })
  })

  it('accepts the largest uint256 amount', () => {
    expect(ok(parseCreateInvoice({ ...minimal(), amount: MAX_UINT256 })).request.amount).toBe(MAX_UINT256)
  })

  it('accepts an amount of 1', () => {
    expect(ok(parseCreateInvoice({ ...minimal(), amount: '1' })).request.amount).toBe('1')
  })
})

describe('parseCreateInvoice: normalisation', () => {
  it('lower-cases the uuid', () => {
    expect(ok(parseCreateInvoice({ ...minimal(), uuid: UUID.toUpperCase() })).request.uuid).toBe(UUID)
  })

  it('lower-cases checksummed addresses', () => {
    const result = ok(parseCreateInvoice({ ...minimal(), token: getAddress(TOKEN), receive_address: getAddress(RECEIVE), payer: getAddress(PAYER) }))
    expect(getAddress(TOKEN)).not.toBe(TOKEN)
    expect(result.request.token).toBe(TOKEN)
    expect(result.request.receive_address).toBe(RECEIVE)
    expect(result.request.payer).toBe(PAYER)
  })

  it('strips leading zeros from the amount', () => {
    expect(ok(parseCreateInvoice({ ...minimal(), amount: '0001000' })).request.amount).toBe('1000')
    expect(ok(parseCreateInvoice({ ...minimal(), amount: '01' })).request.amount).toBe('1')
  })

  it('normalises expires_at to toISOString (UTC, milliseconds)', () => {
    const cases: [string, string][] = [
      ['2030-01-31T12:00:00Z', '2030-01-31T12:00:00.000Z'],
      ['2030-01-31T12:00Z', '2030-01-31T12:00:00.000Z'],
      ['2030-01-31T13:00:00+01:00', '2030-01-31T12:00:00.000Z'],
      ['2030-01-31T07:30:00-04:30', '2030-01-31T12:00:00.000Z'],
      ['2030-01-31T12:00:00.5Z', '2030-01-31T12:00:00.500Z'],
      ['2030-01-01T00:30:00+01:00', '2029-12-31T23:30:00.000Z'],
    ]
    for (const [input, expected] of cases) {
      expect(ok(parseCreateInvoice({ ...minimal(), expires_at: input })).request.expires_at, input).toBe(expected)
    }
  })
})

describe('parseCreateInvoice: fingerprint', () => {
  const canonical = { uuid: UUID, token: TOKEN, amount: '1000', receive_address: RECEIVE, payer: PAYER, expires_at: '2030-01-31T12:00:00.000Z' }
  const fingerprintOf = (body: unknown) => ok(parseCreateInvoice(body)).fingerprint

  it('is deterministic', () => {
    expect(fingerprintOf(canonical)).toBe(fingerprintOf({ ...canonical }))
  })

  it('is the same for two differently-written but equivalent bodies', () => {
    const rewritten = {
      expires_at: '2030-01-31T13:00:00+01:00',
      payer: getAddress(PAYER),
      amount: '0000001000',
      receive_address: getAddress(RECEIVE),
      token: getAddress(TOKEN),
      uuid: UUID.toUpperCase(),
    }
    expect(fingerprintOf(rewritten)).toBe(fingerprintOf(canonical))
  })

  it('is the same whether optional fields are omitted or null', () => {
    expect(fingerprintOf(minimal())).toBe(fingerprintOf({ ...minimal(), receive_address: null, payer: null, expires_at: null }))
  })

  it('changes when any field changes', () => {
    const base = fingerprintOf(canonical)
    const variants: Record<string, unknown>[] = [
      { ...canonical, uuid: '123e4567-e89b-42d3-a456-426614174001' },
      { ...canonical, token: '0x' + '1'.repeat(40) },
      { ...canonical, amount: '1001' },
      { ...canonical, amount: '100' },
      { ...canonical, receive_address: '0x' + '2'.repeat(40) },
      { ...canonical, receive_address: null },
      { ...canonical, payer: '0x' + '3'.repeat(40) },
      { ...canonical, payer: null },
      { ...canonical, expires_at: '2030-01-31T12:00:00.001Z' },
      { ...canonical, expires_at: null },
    ]
    const fingerprints = variants.map(fingerprintOf)
    for (const fingerprint of fingerprints) expect(fingerprint).not.toBe(base)
    expect(new Set(fingerprints).size).toBe(variants.length)
  })

  it('distinguishes the same address as receive_address and as payer', () => {
    const address = '0x' + '4'.repeat(40)
    const asReceive = fingerprintOf({ ...minimal(), receive_address: address })
    const asPayer = fingerprintOf({ ...minimal(), payer: address })
    expect(asReceive).not.toBe(asPayer)
  })
})

describe('parseCreateInvoice: errors', () => {
  it('reports a missing uuid as required', () => {
    const { uuid: _uuid, ...body } = minimal()
    expect(fail(parseCreateInvoice(body))).toEqual({ ok: false, path: 'uuid', message: 'is required' })
  })

  it('reports a missing token and a missing amount with their paths', () => {
    const { token: _token, ...noToken } = minimal()
    expect(fail(parseCreateInvoice(noToken))).toMatchObject({ path: 'token', message: 'is required' })
    const { amount: _amount, ...noAmount } = minimal()
    expect(fail(parseCreateInvoice(noAmount))).toMatchObject({ path: 'amount', message: 'is required' })
  })

  it.each(['nope', '123e4567e89b42d3a456426614174000', '123e4567-e89b-42d3-a456-42661417400', '123e4567-e89b-42d3-a456-4266141740000', 'g23e4567-e89b-42d3-a456-426614174000', ` ${UUID}`, ''])(
    'refuses the bad uuid %j',
    (uuid) => {
      expect(fail(parseCreateInvoice({ ...minimal(), uuid }))).toMatchObject({ path: 'uuid', message: 'must be a UUID' })
    },
  )

  it('refuses an amount given as a JSON number', () => {
    expect(fail(parseCreateInvoice({ ...minimal(), amount: 1000 })).path).toBe('amount')
  })

  it('refuses an amount of 0, in any spelling', () => {
    for (const amount of ['0', '000']) {
      expect(fail(parseCreateInvoice({ ...minimal(), amount }))).toMatchObject({ path: 'amount', message: expect.stringMatching(/greater than 0/) })
    }
  })

  it.each(['-1', '+1', '1.5', '1.0', '1e18', '0x10', ' 1', '1 ', '1_000', ''])('refuses the malformed amount %j', (amount) => {
    expect(fail(parseCreateInvoice({ ...minimal(), amount }))).toMatchObject({ path: 'amount', message: 'must be a decimal string of base units' })
  })

  it('refuses an amount over uint256', () => {
    expect(fail(parseCreateInvoice({ ...minimal(), amount: (2n ** 256n).toString() }))).toMatchObject({ path: 'amount', message: expect.stringMatching(/uint256/) })
    expect(fail(parseCreateInvoice({ ...minimal(), amount: '9'.repeat(78) })).path).toBe('amount')
  })

  it.each(['0x123', 'ab'.repeat(20), '0x' + 'g'.repeat(40), '0x' + 'a'.repeat(41), '0x' + 'a'.repeat(39), 'vitalik.eth', ''])('refuses the bad token address %j', (token) => {
    expect(fail(parseCreateInvoice({ ...minimal(), token })).path).toBe('token')
  })

  it('refuses a mixed-case address with a bad checksum', () => {
    const checksummed = getAddress(TOKEN)
    // Flip the case of the first letter: still mixed-case, checksum now wrong.
    const index = checksummed.slice(2).search(/[a-fA-F]/) + 2
    const ch = checksummed[index]!
    const flipped = checksummed.slice(0, index) + (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) + checksummed.slice(index + 1)
    expect(flipped.toLowerCase()).toBe(TOKEN)
    expect(fail(parseCreateInvoice({ ...minimal(), token: flipped }))).toMatchObject({ path: 'token', message: expect.stringMatching(/checksum/) })
    expect(fail(parseCreateInvoice({ ...minimal(), receive_address: flipped })).path).toBe('receive_address')
    expect(fail(parseCreateInvoice({ ...minimal(), payer: flipped })).path).toBe('payer')
  })

  it('refuses bad optional addresses with their own path', () => {
    expect(fail(parseCreateInvoice({ ...minimal(), receive_address: '0x1' })).path).toBe('receive_address')
    expect(fail(parseCreateInvoice({ ...minimal(), payer: 'nobody' })).path).toBe('payer')
  })

  it('refuses an unknown field, naming it', () => {
    expect(fail(parseCreateInvoice({ ...minimal(), memo: 'hi' }))).toEqual({ ok: false, path: 'memo', message: 'unknown field' })
  })

  it('refuses a misspelt known field as unknown', () => {
    expect(fail(parseCreateInvoice({ ...minimal(), expiresAt: '2030-01-31T12:00:00Z' }))).toMatchObject({ path: 'expiresAt', message: 'unknown field' })
  })

  it.each(['2030-01-31T12:00:00', '2030-01-31', '2030-01-31 12:00:00Z', '2030-01-31T12:00:00+0100', 'tomorrow', '31/01/2030', '2030-13-01T00:00:00Z', ''])(
    'refuses the expires_at %j',
    (expires_at) => {
      expect(fail(parseCreateInvoice({ ...minimal(), expires_at }))).toMatchObject({ path: 'expires_at', message: expect.stringMatching(/time zone/) })
    },
  )

  it.each([
    ['an array', []],
    ['an array of a body', [minimal()]],
    ['null', null],
    ['undefined', undefined],
    ['a string', JSON.stringify(minimal())],
    ['a number', 42],
    ['a boolean', true],
  ])('refuses %s as the body', (_label, body) => {
    expect(parseCreateInvoice(body)).toEqual({ ok: false, path: '', message: 'body must be a JSON object' })
  })

  it('refuses an empty object, starting with the uuid', () => {
    expect(fail(parseCreateInvoice({}))).toMatchObject({ path: 'uuid', message: 'is required' })
  })
})

describe('parseCreateInvoice: found in review', () => {
  it('says why a JSON number amount is refused, instead of "is required"', () => {
    const result = fail(parseCreateInvoice({ ...minimal(), amount: 1000 }))
    expect(result.path).toBe('amount')
    expect(result.message).toContain('not a JSON number')
  })
  it('still says "is required" for an absent field', () => {
    const { amount: _, ...body } = minimal()
    expect(fail(parseCreateInvoice(body)).message).toBe('is required')
  })
  it('accepts an all-upper-case address (EIP-55: no checksum) and normalises it', () => {
    expect(ok(parseCreateInvoice({ ...minimal(), token: `0x${TOKEN.slice(2).toUpperCase()}` })).request.token).toBe(TOKEN)
  })
  it.each(['2030-02-30T00:00:00Z', '2030-04-31T00:00:00Z', '2030-01-01T25:00:00Z'])('refuses a date-time that does not exist: %s', (expires_at) => {
    expect(fail(parseCreateInvoice({ ...minimal(), expires_at })).path).toBe('expires_at')
  })
})
