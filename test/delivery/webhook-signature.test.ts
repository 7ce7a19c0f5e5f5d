import { createHmac, randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Webhook } from 'standardwebhooks'
import { signWebhook } from '../../src/delivery/webhook-sender.ts'

const secretOf = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`
const SECRET_OLD = secretOf(Buffer.from('0123456789abcdef0123456789abcdef'))
const SECRET_NEW = secretOf(Buffer.from('fedcba9876543210fedcba9876543210'))
const SECRET_OTHER = secretOf(randomBytes(24))

const AT = new Date('2030-01-01T12:34:56.789Z')
const AT_SECONDS = Math.floor(AT.getTime() / 1000)
const ID = 'wh_123e4567-e89b-42d3-a456-426614174000_0xabc'
const BODY = JSON.stringify({ type: 'invoice.settled', timestamp: '2030-01-01T12:34:56.000Z', data: { invoice_uuid: 'x', amount: '1000' } })

/** The SPEC §7 signature, computed independently of both the sender and the library. */
function expectedSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

describe('signWebhook', () => {
  beforeEach(() => {
    // standardwebhooks rejects timestamps more than 5 minutes from now: pin "now" to AT.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(AT)
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('produces exactly the Standard Webhooks headers plus content-type and idempotency-key', () => {
    const headers = signWebhook([SECRET_OLD], ID, BODY, AT)
    expect(Object.keys(headers).sort()).toEqual(['content-type', 'idempotency-key', 'webhook-id', 'webhook-signature', 'webhook-timestamp'])
    expect(headers['content-type']).toBe('application/json')
  })

  it('sets webhook-id and idempotency-key to the given id', () => {
    const headers = signWebhook([SECRET_OLD], ID, BODY, AT)
    expect(headers['webhook-id']).toBe(ID)
    expect(headers['idempotency-key']).toBe(ID)
  })

  it('sets webhook-timestamp to the unix seconds of the given Date, rounded down', () => {
    expect(signWebhook([SECRET_OLD], ID, BODY, AT)['webhook-timestamp']).toBe(String(AT_SECONDS))
    expect(AT_SECONDS).toBe(1893501296)
    expect(signWebhook([SECRET_OLD], ID, BODY, new Date(0))['webhook-timestamp']).toBe('0')
    expect(signWebhook([SECRET_OLD], ID, BODY, new Date(1_999))['webhook-timestamp']).toBe('1')
  })

  it('uses the given Date, not the clock', () => {
    const earlier = new Date(AT.getTime() - 120_000)
    const headers = signWebhook([SECRET_OLD], ID, BODY, earlier)
    expect(headers['webhook-timestamp']).toBe(String(AT_SECONDS - 120))
    expect(headers['webhook-signature']).toBe(expectedSignature(SECRET_OLD, ID, AT_SECONDS - 120, BODY))
  })

  it('signs with one secret so that the standardwebhooks library verifies it', () => {
    const headers = signWebhook([SECRET_OLD], ID, BODY, AT)
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/)
    expect(new Webhook(SECRET_OLD).verify(BODY, headers)).toEqual(JSON.parse(BODY))
  })

  it('computes the HMAC-SHA256 of "<id>.<timestamp>.<body>" with the base64-decoded secret', () => {
    expect(signWebhook([SECRET_OLD], ID, BODY, AT)['webhook-signature']).toBe(expectedSignature(SECRET_OLD, ID, AT_SECONDS, BODY))
  })

  it('is not verified by another secret', () => {
    const headers = signWebhook([SECRET_OLD], ID, BODY, AT)
    expect(() => new Webhook(SECRET_OTHER).verify(BODY, headers)).toThrow()
  })

  it('during a rotation carries two space-separated v1 signatures, each verifying alone', () => {
    const headers = signWebhook([SECRET_OLD, SECRET_NEW], ID, BODY, AT)
    const parts = headers['webhook-signature']!.split(' ')
    expect(parts).toEqual([expectedSignature(SECRET_OLD, ID, AT_SECONDS, BODY), expectedSignature(SECRET_NEW, ID, AT_SECONDS, BODY)])
    expect(parts[0]).not.toBe(parts[1])
    for (const part of parts) expect(part.startsWith('v1,')).toBe(true)

    expect(new Webhook(SECRET_OLD).verify(BODY, headers)).toEqual(JSON.parse(BODY))
    expect(new Webhook(SECRET_NEW).verify(BODY, headers)).toEqual(JSON.parse(BODY))
    expect(() => new Webhook(SECRET_OTHER).verify(BODY, headers)).toThrow()
  })

  it('each rotation signature alone is the one-secret signature', () => {
    const both = signWebhook([SECRET_OLD, SECRET_NEW], ID, BODY, AT)['webhook-signature']
    const old = signWebhook([SECRET_OLD], ID, BODY, AT)['webhook-signature']
    const fresh = signWebhook([SECRET_NEW], ID, BODY, AT)['webhook-signature']
    expect(both).toBe(`${old} ${fresh}`)
  })

  it('fails verification when the body changes', () => {
    const headers = signWebhook([SECRET_OLD, SECRET_NEW], ID, BODY, AT)
    const tampered = BODY.replace('"1000"', '"1001"')
    expect(tampered).not.toBe(BODY)
    expect(() => new Webhook(SECRET_OLD).verify(tampered, headers)).toThrow(/signature/i)
    expect(() => new Webhook(SECRET_NEW).verify(tampered, headers)).toThrow(/signature/i)
    // Even a whitespace change in the JSON breaks it: the signature is over the exact bytes.
    expect(() => new Webhook(SECRET_OLD).verify(`${BODY} `, headers)).toThrow(/signature/i)
  })

  it('fails verification when the id or the timestamp header is altered', () => {
    const headers = signWebhook([SECRET_OLD], ID, BODY, AT)
    expect(() => new Webhook(SECRET_OLD).verify(BODY, { ...headers, 'webhook-id': `${ID}x` })).toThrow(/signature/i)
    expect(() => new Webhook(SECRET_OLD).verify(BODY, { ...headers, 'webhook-timestamp': String(AT_SECONDS + 1) })).toThrow(/signature/i)
  })

  it('signs a fresh timestamp per attempt while keeping the id', () => {
    const first = signWebhook([SECRET_OLD], ID, BODY, AT)
    const retryAt = new Date(AT.getTime() + 60_000)
    const second = signWebhook([SECRET_OLD], ID, BODY, retryAt)
    expect(second['webhook-id']).toBe(first['webhook-id'])
    expect(second['idempotency-key']).toBe(first['idempotency-key'])
    expect(Number(second['webhook-timestamp']) - Number(first['webhook-timestamp'])).toBe(60)
    expect(second['webhook-signature']).not.toBe(first['webhook-signature'])
    vi.setSystemTime(retryAt)
    expect(new Webhook(SECRET_OLD).verify(BODY, second)).toEqual(JSON.parse(BODY))
  })

  it('works with a minimum-length (16-byte) secret', () => {
    const secret = secretOf(randomBytes(16))
    const headers = signWebhook([secret], ID, BODY, AT)
    expect(new Webhook(secret).verify(BODY, headers)).toEqual(JSON.parse(BODY))
  })
})
