import { describe, expect, it } from 'vitest'
import { decideDelivery, parseRetryAfter, retryDelayMs, type RetrySchedule } from '../../src/delivery/delivery-decision.ts'

/** The largest double below 1: what Math.random() can return at most. */
const JUST_BELOW_ONE = 1 - 2 ** -53

const NOW_MS = Date.parse('2030-01-01T00:00:00.000Z')
const SCHEDULE: RetrySchedule = { maxAttempts: 8, initialDelayMs: 1_000, maxDelayMs: 3_600_000 }

const constant = (value: number) => () => value

describe('retryDelayMs', () => {
  it('returns 0 when random() is 0, whatever the attempt', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      expect(retryDelayMs(attempt, SCHEDULE, constant(0))).toBe(0)
    }
  })

  it('stays just below the ceiling min(max, initial * 2^(n-1)) when random() is just below 1, for n = 1..12', () => {
    const schedule = { initialDelayMs: 1_000, maxDelayMs: 300_000 }
    const expectedCeilings = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000]
    expectedCeilings.forEach((ceiling, index) => {
      const attempt = index + 1
      expect(retryDelayMs(attempt, schedule, constant(JUST_BELOW_ONE)), `attempt ${attempt}`).toBe(ceiling - 1)
    })
  })

  it('scales with random() inside the ceiling (full jitter)', () => {
    const schedule = { initialDelayMs: 1_000, maxDelayMs: 3_600_000 }
    expect(retryDelayMs(1, schedule, constant(0.5))).toBe(500)
    expect(retryDelayMs(3, schedule, constant(0.5))).toBe(2_000)
    expect(retryDelayMs(3, schedule, constant(0.25))).toBe(1_000)
  })

  it('never exceeds maxDelayMs, even for huge attempt numbers', () => {
    const schedule = { initialDelayMs: 1_000, maxDelayMs: 3_600_000 }
    for (const attempt of [13, 20, 50, 100, 1_100]) {
      const delay = retryDelayMs(attempt, schedule, constant(JUST_BELOW_ONE))
      expect(delay).toBe(3_599_999)
      expect(Number.isFinite(delay)).toBe(true)
    }
  })

  it('caps at maxDelayMs even when it is below initialDelayMs', () => {
    expect(retryDelayMs(1, { initialDelayMs: 10_000, maxDelayMs: 500 }, constant(JUST_BELOW_ONE))).toBe(499)
  })

  it('returns whole milliseconds within [0, ceiling) for real randomness', () => {
    const schedule = { initialDelayMs: 250, maxDelayMs: 5_000 }
    for (let i = 0; i < 200; i++) {
      const attempt = (i % 8) + 1
      const ceiling = Math.min(5_000, 250 * 2 ** (attempt - 1))
      const delay = retryDelayMs(attempt, schedule)
      expect(Number.isInteger(delay)).toBe(true)
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThan(ceiling)
    }
  })
})

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('120', NOW_MS)).toBe(120_000)
    expect(parseRetryAfter('1', NOW_MS)).toBe(1_000)
    expect(parseRetryAfter('0', NOW_MS)).toBe(0)
  })

  it('tolerates white space around delta-seconds', () => {
    expect(parseRetryAfter(' 7 ', NOW_MS)).toBe(7_000)
  })

  it('does not depend on nowMs for delta-seconds', () => {
    expect(parseRetryAfter('30', 0)).toBe(30_000)
    expect(parseRetryAfter('30', NOW_MS)).toBe(30_000)
  })

  it('reads an HTTP-date as the time from nowMs until it', () => {
    const now = Date.parse('2015-10-21T07:27:00.000Z')
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(60_000)
    expect(parseRetryAfter(new Date(NOW_MS + 90_000).toUTCString(), NOW_MS)).toBe(90_000)
  })

  it('reads an HTTP-date in the past as 0, never negative', () => {
    const now = Date.parse('2015-10-21T07:30:00.000Z')
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0)
  })

  it('returns undefined for undefined, empty and blank values', () => {
    expect(parseRetryAfter(undefined, NOW_MS)).toBeUndefined()
    expect(parseRetryAfter('', NOW_MS)).toBeUndefined()
    expect(parseRetryAfter('   ', NOW_MS)).toBeUndefined()
  })

  it('returns undefined for garbage', () => {
    for (const value of ['soon', 'abc', '120abc', '5 seconds', '1e3', '0x10']) {
      expect(parseRetryAfter(value, NOW_MS), value).toBeUndefined()
    }
  })
})

describe('decideDelivery', () => {
  const schedule: RetrySchedule = { maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 60_000 }

  it.each([200, 201, 202, 204, 299])('delivers on HTTP %i', (status) => {
    expect(decideDelivery({ status }, 1, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'delivered' })
  })

  it('delivers on a 2xx even at the last attempt, and beyond it', () => {
    expect(decideDelivery({ status: 200 }, schedule.maxAttempts, schedule, NOW_MS)).toEqual({ kind: 'delivered' })
    expect(decideDelivery({ status: 204 }, schedule.maxAttempts + 1, schedule, NOW_MS)).toEqual({ kind: 'delivered' })
  })

  it('dead-letters a 410 Gone at once, even on the first attempt', () => {
    const decision = decideDelivery({ status: 410 }, 1, schedule, NOW_MS, constant(0.5))
    expect(decision.kind).toBe('dead')
    if (decision.kind === 'dead') expect(decision.reason).toMatch(/410/)
  })

  it('dead-letters a 410 even when it carries a Retry-After', () => {
    expect(decideDelivery({ status: 410, retryAfter: '5' }, 2, schedule, NOW_MS).kind).toBe('dead')
  })

  it.each([199, 300, 301, 302, 304, 307, 400, 401, 403, 404, 408, 409, 422, 500, 502, 504])(
    'retries HTTP %i with backoff',
    (status) => {
      // attempt 3: ceiling 4000, random 0.5 → 2000
      expect(decideDelivery({ status }, 3, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 2_000, reason: `HTTP ${status}` })
    },
  )

  it('does not follow a 3xx: a redirect is a failed attempt', () => {
    const decision = decideDelivery({ status: 301 }, 1, schedule, NOW_MS, constant(0))
    expect(decision.kind).toBe('retry')
  })

  it.each([429, 503])('honours a delta-seconds Retry-After on HTTP %i, without jitter', (status) => {
    expect(decideDelivery({ status, retryAfter: '30' }, 1, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 30_000, reason: `HTTP ${status}` })
  })

  it.each([429, 503])('honours an HTTP-date Retry-After on HTTP %i', (status) => {
    const retryAfter = new Date(NOW_MS + 45_000).toUTCString()
    expect(decideDelivery({ status, retryAfter }, 2, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 45_000, reason: `HTTP ${status}` })
  })

  it('honours Retry-After: 0 as an immediate retry', () => {
    expect(decideDelivery({ status: 429, retryAfter: '0' }, 4, schedule, NOW_MS, constant(0.9))).toMatchObject({ kind: 'retry', delayMs: 0 })
  })

  it.each([429, 503])('caps a Retry-After on HTTP %i at maxDelayMs', (status) => {
    expect(decideDelivery({ status, retryAfter: '86400' }, 1, schedule, NOW_MS, constant(0.5))).toMatchObject({ kind: 'retry', delayMs: 60_000 })
    const farDate = new Date(NOW_MS + 10 * 86_400_000).toUTCString()
    expect(decideDelivery({ status, retryAfter: farDate }, 1, schedule, NOW_MS, constant(0.5))).toMatchObject({ kind: 'retry', delayMs: 60_000 })
  })

  it('falls back to backoff on a 429 without Retry-After', () => {
    expect(decideDelivery({ status: 429 }, 2, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 1_000, reason: 'HTTP 429' })
  })

  it('falls back to backoff on a 503 with an unusable Retry-After', () => {
    expect(decideDelivery({ status: 503, retryAfter: 'later' }, 2, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 1_000, reason: 'HTTP 503' })
  })

  it.each([500, 502, 400, 404])('ignores a Retry-After on HTTP %i and backs off', (status) => {
    expect(decideDelivery({ status, retryAfter: '30' }, 2, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 1_000, reason: `HTTP ${status}` })
  })

  it('retries a network error with backoff, keeping its message as the reason', () => {
    expect(decideDelivery({ error: 'timed out' }, 1, schedule, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 500, reason: 'timed out' })
    expect(decideDelivery({ error: 'connection failed (ECONNREFUSED)' }, 4, schedule, NOW_MS, constant(0.5))).toEqual({
      kind: 'retry',
      delayMs: 4_000,
      reason: 'connection failed (ECONNREFUSED)',
    })
  })

  it('retries up to the attempt before maxAttempts', () => {
    expect(decideDelivery({ status: 500 }, schedule.maxAttempts - 1, schedule, NOW_MS, constant(0.5)).kind).toBe('retry')
  })

  it.each([
    [{ status: 500 }, 'HTTP 500'],
    [{ status: 404 }, 'HTTP 404'],
    [{ status: 302 }, 'HTTP 302'],
    [{ status: 429, retryAfter: '5' }, 'HTTP 429'],
    [{ status: 503, retryAfter: '5' }, 'HTTP 503'],
    [{ error: 'timed out' }, 'timed out'],
  ] as const)('dead-letters %o at attempt == maxAttempts, mentioning the attempts', (result, reasonStart) => {
    const decision = decideDelivery(result, schedule.maxAttempts, schedule, NOW_MS, constant(0.5))
    expect(decision.kind).toBe('dead')
    if (decision.kind === 'dead') {
      expect(decision.reason.startsWith(reasonStart)).toBe(true)
      expect(decision.reason).toContain(`${schedule.maxAttempts} attempts`)
    }
  })

  it('dead-letters a failure past maxAttempts too', () => {
    const decision = decideDelivery({ status: 500 }, schedule.maxAttempts + 3, schedule, NOW_MS, constant(0.5))
    expect(decision).toEqual({ kind: 'dead', reason: `HTTP 500 (after ${schedule.maxAttempts + 3} attempts)` })
  })

  it('dead-letters the first failure when maxAttempts is 1', () => {
    expect(decideDelivery({ status: 500 }, 1, { ...schedule, maxAttempts: 1 }, NOW_MS, constant(0.5))).toEqual({ kind: 'dead', reason: 'HTTP 500 (after 1 attempts)' })
  })
})

describe('Retry-After values V8 would misread as dates (found in review)', () => {
  it.each(['1.5', '-5', '+5', '12/25'])('%s is unusable, so backoff applies', (value) => {
    expect(parseRetryAfter(value, NOW_MS)).toBeUndefined()
    expect(decideDelivery({ status: 429, retryAfter: value }, 1, SCHEDULE, NOW_MS, constant(0.5))).toEqual({ kind: 'retry', delayMs: 500, reason: 'HTTP 429' })
  })
})
