import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRpcProvider, type RpcProvider } from '../../src/chain/rpc-provider.ts'
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
  proxy.setFault({ kind: 'none' })
  proxy.resetCounts()
})

function provider(): { provider: RpcProvider; changes: (string | null)[] } {
  const p = createRpcProvider({
    provider: { name: 'primary', url: proxy.url },
    chainId: anvil.chainId,
    breaker: { failure_threshold: 5, success_threshold: 2, open_ms: 60_000 },
    rpc: { timeout_ms: 1_000, retries: 0, retry_initial_delay_ms: 1, retry_max_delay_ms: 5 },
  })
  const changes: (string | null)[] = []
  p.onRefusalChange((reason) => changes.push(reason))
  return { provider: p, changes }
}

describe('a refused provider (real calls through the fault proxy in front of anvil)', () => {
  it('is refused with the reason when it answers HTTP 401, its breaker untouched, until a good answer', async () => {
    const { provider: p, changes } = provider()
    proxy.setFault({ kind: 'status', status: 401, body: 'unauthorized' })
    for (let i = 0; i < 6; i++) expect((await providerFailure(p.getBlockNumber())).kind).toBe('refused')
    expect(p.status()).toMatchObject({ state: 'closed', refused: 'HTTP 401 (eth_blockNumber)' })
    expect((await providerFailure(p.confirmChainId())).kind).toBe('refused')
    expect(p.status().refused).toBe('HTTP 401 (eth_blockNumber, eth_chainId)')

    proxy.setFault({ kind: 'none' })
    await p.getBlockNumber()
    // Each refused method clears with its own good answer.
    expect(p.status().refused).toBe('HTTP 401 (eth_chainId)')
    await p.confirmChainId()
    expect(p.status().refused).toBeNull()
    expect(changes).toEqual(['HTTP 401 (eth_blockNumber)', 'HTTP 401 (eth_blockNumber, eth_chainId)', 'HTTP 401 (eth_chainId)', null])
  })

  it('is refused while it reports another chain id, and only a good eth_chainId clears it', async () => {
    const { provider: p, changes } = provider()
    await p.confirmChainId()
    proxy.setFault({ kind: 'chain-id', chainId: 1 })
    const error = await providerFailure(p.confirmChainId())
    expect(error).toMatchObject({ kind: 'refused', code: 'RPC_REFUSED' })
    expect(error.message).toContain(`reports chain id 1, expected ${anvil.chainId}`)
    // Its other answers are fine, and do not clear the refusal.
    expect(await p.getBlockNumber()).toBeGreaterThanOrEqual(0)
    expect(p.status().refused).toBe(`reports chain id 1, expected ${anvil.chainId} (eth_chainId)`)

    proxy.setFault({ kind: 'none' })
    await p.confirmChainId()
    expect(p.status().refused).toBeNull()
    expect(changes).toEqual([`reports chain id 1, expected ${anvil.chainId} (eth_chainId)`, null])
  })

  it('is refused for an answer that is not JSON-RPC, and for a JSON-RPC method error', async () => {
    const { provider: p } = provider()
    proxy.setFault({ kind: 'garbage' })
    await providerFailure(p.getBlockNumber())
    expect(p.status().refused).toBe('answer is not valid JSON-RPC (eth_blockNumber)')
    proxy.setFault({ kind: 'rpc-error', code: -32601, message: 'the method eth_getBlockByNumber does not exist' })
    await providerFailure(p.getBlockHash(0))
    expect(p.status().refused).toBe('answer is not valid JSON-RPC (eth_blockNumber); JSON-RPC error -32601: the method eth_getBlockByNumber does not exist (eth_getBlockByNumber)')
  })

  it('is not refused for transient failures (they are the breaker\'s)', async () => {
    const { provider: p, changes } = provider()
    proxy.setFault({ kind: 'status', status: 503 })
    await providerFailure(p.getBlockNumber())
    proxy.setFault({ kind: 'down' })
    await providerFailure(p.confirmChainId())
    expect(p.status()).toMatchObject({ refused: null, consecutiveFailures: 2 })
    expect(changes).toEqual([])
  })
})
