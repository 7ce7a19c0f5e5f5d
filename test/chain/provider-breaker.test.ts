import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRpcProvider, type BreakerStateName, type RpcProvider } from '../../src/chain/rpc-provider.ts'
import { startAnvil, type Anvil } from '../support/anvil.ts'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts'
import { providerFailure } from '../support/provider-failure.ts'

let anvil: Anvil
let proxy: FaultProxy

beforeAll(async () => {
  anvil = await startAnvil()
  proxy = await startFaultProxy(anvil.url)
})
afterAll(async () => {
  await proxy.close()
  await anvil.stop()
})
afterEach(() => {
  vi.useRealTimers()
  proxy.setFault({ kind: 'none' })
  proxy.resetCounts()
})

const OPEN_MS = 60_000

function provider(retries = 0): { provider: RpcProvider; transitions: BreakerStateName[] } {
  const p = createRpcProvider({
    provider: { name: 'primary', url: proxy.url },
    chainId: anvil.chainId,
    breaker: { failure_threshold: 5, success_threshold: 2, open_ms: OPEN_MS },
    rpc: { timeout_ms: 1_000, retries, retry_initial_delay_ms: 1, retry_max_delay_ms: 5 },
  })
  const transitions: BreakerStateName[] = []
  p.onBreakerStateChange((state) => transitions.push(state))
  return { provider: p, transitions }
}

describe('a provider breaker (real calls through the fault proxy; only Date is faked)', () => {
  it('opens after 5 consecutive transient failures and then fails fast with no network call', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { provider: p } = provider()
    proxy.setFault({ kind: 'status', status: 500 })
    for (let i = 1; i <= 4; i++) {
      expect((await providerFailure(p.getBlockNumber())).kind).toBe('transient')
      expect(p.status()).toMatchObject({ state: 'closed', consecutiveFailures: i })
    }
    expect((await providerFailure(p.getBlockNumber())).kind).toBe('transient')
    expect(p.status().state).toBe('open')
    expect(proxy.totalRequests()).toBe(5)

    for (let i = 0; i < 10; i++) expect((await providerFailure(p.getBlockNumber())).kind).toBe('circuit_open')
    expect(proxy.totalRequests()).toBe(5)
    expect(p.status().halfOpenInMs).toBe(OPEN_MS)
    expect(p.status().lastError).toContain('HTTP 500')
  })

  it('half-opens after open_ms, closes after 2 successes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { provider: p, transitions } = provider()
    proxy.setFault({ kind: 'down' })
    for (let i = 0; i < 5; i++) await providerFailure(p.getBlockNumber())
    proxy.setFault({ kind: 'none' })

    vi.setSystemTime(Date.now() + OPEN_MS - 1)
    expect((await providerFailure(p.getBlockNumber())).kind).toBe('circuit_open')
    expect(proxy.totalRequests()).toBe(5)

    vi.setSystemTime(Date.now() + 1)
    expect(await p.getBlockNumber()).toBeGreaterThanOrEqual(0)
    expect(p.status().state).toBe('half_open')
    await p.getBlockNumber()
    expect(p.status()).toMatchObject({ state: 'closed', consecutiveFailures: 0 })
    expect(transitions).toEqual(['open', 'half_open', 'closed'])
  })

  it('re-opens on a failure while half-open, for another open_ms', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { provider: p, transitions } = provider()
    proxy.setFault({ kind: 'status', status: 429 })
    for (let i = 0; i < 5; i++) await providerFailure(p.getBlockNumber())
    vi.setSystemTime(Date.now() + OPEN_MS)
    expect((await providerFailure(p.getBlockNumber())).kind).toBe('transient')
    expect(p.status().state).toBe('open')
    expect(proxy.totalRequests()).toBe(6)
    expect((await providerFailure(p.getBlockNumber())).kind).toBe('circuit_open')
    expect(proxy.totalRequests()).toBe(6)
    expect(transitions).toEqual(['open', 'half_open', 'open'])
  })

  it('counts consecutive failures only: a success in between resets the count', async () => {
    const { provider: p } = provider()
    for (const _ of [1, 2]) {
      proxy.setFault({ kind: 'status', status: 503 })
      for (let i = 0; i < 4; i++) await providerFailure(p.getBlockNumber())
      proxy.setFault({ kind: 'none' })
      await p.getBlockNumber()
    }
    expect(p.status()).toMatchObject({ state: 'closed', consecutiveFailures: 0 })
  })

  it('does not count non-transient failures (garbage, refused, range too large)', async () => {
    const { provider: p } = provider()
    for (const fault of [{ kind: 'garbage' }, { kind: 'status', status: 401 }, { kind: 'rpc-error', code: -32005, message: 'block range too large' }] as const) {
      proxy.setFault(fault)
      for (let i = 0; i < 6; i++) expect((await providerFailure(p.getBlockNumber())).kind).not.toBe('transient')
    }
    expect(p.status().state).toBe('closed')
  })

  it('retries a transient failure with backoff, each attempt counting at the breaker', async () => {
    const { provider: p } = provider(2)
    proxy.setFault({ kind: 'status', status: 502 })
    await providerFailure(p.getBlockNumber())
    expect(proxy.totalRequests()).toBe(3)
    expect(p.status().consecutiveFailures).toBe(3)
    // The second call's second attempt is the fifth failure: the third attempt meets an open breaker.
    expect((await providerFailure(p.getBlockNumber())).kind).toBe('circuit_open')
    expect(proxy.totalRequests()).toBe(5)
  })

  it('gives up on an attempt at timeout_ms and counts it as a transient failure', async () => {
    const { provider: p } = provider()
    proxy.setFault({ kind: 'slow', delayMs: 5_000 })
    const started = performance.now()
    const error = await providerFailure(p.getBlockNumber())
    expect(error.kind).toBe('transient')
    expect(error.message).toContain('timed out')
    expect(performance.now() - started).toBeLessThan(4_000)
    expect(p.status().consecutiveFailures).toBe(1)
  })

  it('never puts the provider URL in an error message or status', async () => {
    const secretUrl = `${proxy.url}/v3/secret-api-key-1234567890`
    const p = createRpcProvider({
      provider: { name: 'primary', url: secretUrl },
      chainId: anvil.chainId,
      breaker: { failure_threshold: 5, success_threshold: 2, open_ms: OPEN_MS },
      rpc: { timeout_ms: 1_000, retries: 0, retry_initial_delay_ms: 1, retry_max_delay_ms: 5 },
    })
    const messages: string[] = []
    for (const fault of [{ kind: 'status', status: 500 }, { kind: 'garbage' }, { kind: 'down' }, { kind: 'rpc-error', code: -32000, message: `upstream ${secretUrl} failed` }] as const) {
      proxy.setFault(fault)
      const error = await providerFailure(p.getBlockNumber())
      messages.push(error.message, String(error.cause ?? ''), JSON.stringify(p.status()))
    }
    for (const message of messages) {
      expect(message).not.toContain('secret-api-key')
      expect(message).not.toContain(proxy.url)
    }
  })
})
