import { describe, expect, it } from 'vitest'
import { liveness, livenessBudgetMs, readiness } from '../../src/ops/health.ts'

const provider = (name: string, state: 'closed' | 'open' | 'half_open', refused: string | null = null) => ({ name, state, refused, consecutiveFailures: 0, lastError: null, halfOpenInMs: null, latencyMs: null })

describe('readiness', () => {
  it('is ready with the store open and quorum providers usable (half-open counts as usable)', () => {
    expect(readiness({ providers: [provider('a', 'closed'), provider('b', 'half_open'), provider('c', 'open')] }, 2, { available: true })).toMatchObject({ ready: true, usable_providers: ['a', 'b'] })
  })
  it('is not ready below quorum, naming each unusable provider and why', () => {
    const r = readiness({ providers: [provider('a', 'closed'), provider('b', 'open'), provider('c', 'closed', 'reports chain id 1, expected 8453 (eth_chainId)')] }, 2, { available: true })
    expect(r.ready).toBe(false)
    expect(r.reasons).toEqual(['1 of 3 providers usable, quorum needs 2: b (breaker open), c (refused: reports chain id 1, expected 8453 (eth_chainId))'])
  })
  it('lists a refused provider with its reason even while the others make the quorum, and does not count it usable', () => {
    expect(readiness({ providers: [provider('a', 'closed'), provider('b', 'closed'), provider('c', 'closed', 'HTTP 401 (eth_blockNumber)')] }, 2, { available: true })).toEqual({
      ready: true,
      reasons: [],
      usable_providers: ['a', 'b'],
      refused_providers: [{ name: 'c', reason: 'HTTP 401 (eth_blockNumber)' }],
    })
  })
  it('is not ready when the store is closed, whatever the providers', () => {
    expect(readiness({ providers: [provider('a', 'closed'), provider('b', 'closed')] }, 2, { available: false, reason: 'store is not open' })).toMatchObject({ ready: false, reasons: ['store is not open'] })
  })
  it("is not ready while the store cannot serve, giving the store's own reason beside the providers' (a database out of reach)", () => {
    const r = readiness({ providers: [provider('a', 'closed'), provider('b', 'open')] }, 2, { available: false, reason: 'store unavailable: connection refused by the database' })
    expect(r).toMatchObject({ ready: false, reasons: ['store unavailable: connection refused by the database', '1 of 2 providers usable, quorum needs 2: b (breaker open)'] })
  })
})

describe('liveness', () => {
  const config = { chain: { poll_interval_ms: 2_000 }, rpc: { timeout_ms: 10_000, retries: 2, retry_max_delay_ms: 5_000 } } as Parameters<typeof livenessBudgetMs>[0]
  it('allows a round to spend every retry of a timed-out call', () => {
    expect(livenessBudgetMs(config)).toBe(3 * (2_000 + 2 * (30_000 + 10_000)))
  })
  it('is live within the budget since the last round, or since start before the first', () => {
    expect(liveness(1_000, 0, 500, 1_400)).toEqual({ live: true, last_round_age_ms: 400 })
    expect(liveness(1_000, 0, 500, 1_600)).toEqual({ live: false, last_round_age_ms: 600 })
    expect(liveness(null, 1_000, 500, 1_400)).toEqual({ live: true, last_round_age_ms: null })
    expect(liveness(null, 1_000, 500, 1_600).live).toBe(false)
  })
})
