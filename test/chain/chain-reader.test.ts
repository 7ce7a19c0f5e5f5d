import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Address } from 'viem'
import type { Disagreement } from '../../src/chain/chain-reader.ts'
import { logPosition } from '../../src/chain/log.ts'
import { startFaultProxy } from '../support/fault-proxy.ts'
import { acceptedLogs, readUntilCaughtUp, startChainFixture, startReader, type ChainFixture, type ReaderUnderTest } from '../support/reader-harness.ts'

let chain: ChainFixture
let open: ReaderUnderTest[] = []
let storeCount = 0

beforeAll(async () => {
  chain = await startChainFixture()
})
afterAll(async () => {
  await chain.close()
})
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()))
  open = []
  for (const proxy of chain.proxies) {
    proxy.setFault({ kind: 'none' })
    proxy.resetCounts()
  }
})

async function reader(overrides: Record<string, unknown> = {}, storeName = `store-${++storeCount}.json`) {
  const r = await startReader(chain, overrides, storeName)
  open.push(r)
  return r
}

/** Pays each amount to the merchant's first address, one transaction (and block) each. */
async function pay(amounts: bigint[], to: Address = chain.merchantAddresses[0]!) {
  const hashes: string[] = []
  for (const amount of amounts) hashes.push(await chain.token.transfer(chain.payer, to, amount))
  return hashes
}

const checkpointOf = async (r: ReaderUnderTest) => (await r.store.read((s) => s.getChainState()))?.checkpoint

describe('chain reader against three providers in front of a real anvil chain', () => {
  it('accepts transfers to merchant addresses that all three providers report, and nothing else', async () => {
    const r = await reader()
    await readUntilCaughtUp(r.reader)
    const paid = await pay([101n, 102n])
    await chain.token.transfer(chain.payer, chain.stranger, 999n)
    await readUntilCaughtUp(r.reader)

    const logs = acceptedLogs(r.events).filter((log) => paid.includes(log.txHash))
    expect(logs.map((log) => log.value)).toEqual(['101', '102'])
    // Accepted as soon as a majority agreed: at least two witnesses, named in configuration order.
    for (const log of logs) {
      expect(log.providers.length).toBeGreaterThanOrEqual(2)
      expect(log.providers).toEqual(['primary', 'secondary', 'tertiary'].filter((p) => log.providers.includes(p)))
    }
    expect(acceptedLogs(r.events).some((log) => log.to === chain.stranger)).toBe(false)
    expect(await checkpointOf(r)).toBe(Number(await chain.anvil.client.getBlockNumber()))
  })

  for (const lie of ['amount', 'fabricate', 'omit', 'block-hash'] as const) {
    it(`never accepts a lie (${lie}) from one provider and still advances the checkpoint`, async () => {
      const r = await reader()
      const disagreements: Disagreement[] = []
      r.reader.onDisagreement((d) => disagreements.push(d))
      await readUntilCaughtUp(r.reader)
      chain.proxies[1]!.setFault({ kind: 'lie', lie })
      const paid = await pay([201n, 202n, 203n])
      await readUntilCaughtUp(r.reader)

      const logs = acceptedLogs(r.events)
      const truth = await chain.anvil.client.getLogs({ address: chain.token.address, fromBlock: 0n })
      const truePositions = new Set(truth.map((log) => `${log.transactionHash}:${log.blockNumber}:${log.logIndex}`))
      expect(logs.every((log) => truePositions.has(logPosition(log)))).toBe(true)
      expect(logs.filter((log) => paid.includes(log.txHash)).map((log) => log.value)).toEqual(['201', '202', '203'])
      const paidLogs = logs.filter((log) => paid.includes(log.txHash))
      for (const log of paidLogs) expect(log.providers).toEqual(expect.arrayContaining(['primary', 'tertiary']))
      expect(paidLogs.length).toBeGreaterThan(0)
      // A liar that altered a log never witnesses it; one that added or dropped others still reported the true ones.
      if (lie === 'amount' || lie === 'block-hash') expect(paidLogs.flatMap((log) => log.providers)).not.toContain('secondary')
      // The liar may answer after the honest majority decided: its disagreement is still counted.
      await vi.waitFor(() => expect(disagreements.some((d) => d.provider === 'secondary')).toBe(true))
      expect(disagreements.every((d) => d.provider === 'secondary')).toBe(true)
      expect(await checkpointOf(r)).toBe(Number(await chain.anvil.client.getBlockNumber()))
    })
  }

  it('accepts nothing and keeps the checkpoint while two providers are down, then reads the missed range when they recover', async () => {
    const r = await reader({ breaker: { failure_threshold: 5, success_threshold: 2, open_ms: 150 } })
    await readUntilCaughtUp(r.reader)
    const before = await checkpointOf(r)
    chain.proxies[0]!.setFault({ kind: 'down' })
    chain.proxies[2]!.setFault({ kind: 'status', status: 503, body: '<html><body>503 Service Unavailable</body></html>' })
    const paid = await pay([301n, 302n])
    for (let i = 0; i < 3; i++) {
      const outcome = await r.reader.runRound()
      expect(outcome.kind).toBe('no_quorum')
    }
    expect(await checkpointOf(r)).toBe(before)
    expect(acceptedLogs(r.events).filter((log) => paid.includes(log.txHash))).toEqual([])

    chain.proxies[0]!.setFault({ kind: 'none' })
    chain.proxies[2]!.setFault({ kind: 'none' })
    // Their breakers opened meanwhile: reading resumes once they half-open (open_ms) and probes succeed.
    await readUntilCaughtUp(r.reader, 100)
    expect(acceptedLogs(r.events).filter((log) => paid.includes(log.txHash)).map((log) => log.value)).toEqual(['301', '302'])
    const ranges = r.events.flatMap((e) => (e.type === 'logs' ? [[e.fromBlock, e.toBlock] as const] : []))
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1)
  })

  for (const [label, fault] of [
    ['times out', { kind: 'slow', delayMs: 3_000 }],
    ['answers 500', { kind: 'status', status: 500 }],
    ['answers 429', { kind: 'status', status: 429 }],
    ['answers garbage', { kind: 'garbage' }],
    ['answers an HTML error page', { kind: 'status', status: 502, body: '<html><h1>Bad Gateway</h1></html>' }],
    ['reports another chain id', { kind: 'chain-id', chainId: 8453 }],
  ] as const) {
    it(`reads on with the other two when one provider ${label}`, async () => {
      chain.proxies[2]!.setFault(fault)
      const r = await reader()
      const paid = await pay([401n])
      await readUntilCaughtUp(r.reader)
      const logs = acceptedLogs(r.events).filter((log) => paid.includes(log.txHash))
      expect(logs.map((log) => log.providers)).toEqual([['primary', 'secondary']])
    })
  }

  it('refuses a provider on another chain: with one more down there is no quorum', async () => {
    chain.proxies[0]!.setFault({ kind: 'chain-id', chainId: 1 })
    chain.proxies[1]!.setFault({ kind: 'down' })
    const r = await reader()
    const outcome = await r.reader.runRound()
    expect(outcome).toMatchObject({ kind: 'no_quorum', stage: 'head' })
    expect(chain.proxies[0]!.totalRequests('eth_getLogs')).toBe(0)
  })

  it('halves the range when a provider says it is too large, and misses nothing', async () => {
    const paid = await pay([501n, 502n, 503n])
    await chain.anvil.client.mine({ blocks: 100 }) // more than one range of 64, whatever ran before
    const r = await reader({ chain: { id: chain.anvil.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 50, max_block_range: 64 } })
    for (const proxy of chain.proxies) proxy.setFault({ kind: 'range-limit', maxSpan: 10 })
    await readUntilCaughtUp(r.reader, 200)
    expect(r.reader.status().maxBlockRange).toBeLessThanOrEqual(10)
    expect(acceptedLogs(r.events).filter((log) => paid.includes(log.txHash)).map((log) => log.value)).toEqual(['501', '502', '503'])
    const ranges = r.events.flatMap((e) => (e.type === 'logs' ? [[e.fromBlock, e.toBlock] as const] : []))
    expect(ranges[0]![0]).toBe(1)
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1)
  })

  it('does not ask a lagging provider for blocks it has not reached, and is not stalled by it', async () => {
    await pay([601n])
    chain.proxies[2]!.setFault({ kind: 'lag', blocks: 1_000 })
    const r = await reader()
    await readUntilCaughtUp(r.reader)
    expect(await checkpointOf(r)).toBe(Number(await chain.anvil.client.getBlockNumber()))
    expect(chain.proxies[2]!.totalRequests('eth_getLogs')).toBe(0)
  })

  it('resumes from the checkpoint after a restart with no duplicate and no gap', async () => {
    const storeName = `restart-${++storeCount}.json`
    const first = await startReader(chain, {}, storeName)
    const firstPaid = await pay([701n, 702n])
    await readUntilCaughtUp(first.reader)
    const stoppedAt = await checkpointOf(first)
    await first.close()

    const secondPaid = await pay([703n, 704n])
    const second = await reader({}, storeName)
    expect(await checkpointOf(second)).toBe(stoppedAt)
    await readUntilCaughtUp(second.reader)

    const all = [...acceptedLogs(first.events), ...acceptedLogs(second.events)]
    const positions = all.map(logPosition)
    expect(new Set(positions).size).toBe(positions.length)
    expect(all.filter((log) => [...firstPaid, ...secondPaid].includes(log.txHash)).map((log) => log.value)).toEqual(['701', '702', '703', '704'])
    const firstRanges = first.events.flatMap((e) => (e.type === 'logs' ? [e] : []))
    const secondRanges = second.events.flatMap((e) => (e.type === 'logs' ? [e] : []))
    expect(secondRanges[0]!.fromBlock).toBe(firstRanges.at(-1)!.toBlock + 1)
  })
})

describe('deciding as soon as a majority agrees', () => {
  it('does not wait for a slow provider once the other two agree, and still hears it out', async () => {
    const r = await reader({ rpc: { timeout_ms: 8_000, retries: 0, retry_initial_delay_ms: 5, retry_max_delay_ms: 20 } })
    // Once every provider has answered a head, each round waits for their heads (a provider never
    // heard from is not waited for when it cannot change the quorum head) and asks all three.
    await readUntilCaughtUp(r.reader)
    chain.proxies[2]!.setFault({ kind: 'slow', delayMs: 4_000, methods: ['eth_getLogs'] })
    const paid = await pay([801n])
    await readUntilCaughtUp(r.reader)
    // The slow provider's eth_getLogs is still held by its proxy: the round did not wait for it.
    expect(chain.proxies[2]!.held()).toBeGreaterThan(0)
    const logs = acceptedLogs(r.events).filter((log) => paid.includes(log.txHash))
    expect(logs.map((log) => log.providers)).toEqual([['primary', 'secondary']])
  })
})

describe('refused providers count toward no quorum', () => {
  const fastBreaker = { breaker: { failure_threshold: 5, success_threshold: 2, open_ms: 150 } }

  it('refuses a provider that switches chain id mid-run within one round: a payment made then is not accepted with it, nor at all while only one other answers', async () => {
    const r = await reader(fastBreaker)
    await readUntilCaughtUp(r.reader)
    chain.proxies[2]!.setFault({ kind: 'chain-id', chainId: 1 })
    await r.reader.runRound()
    const reason = `reports chain id 1, expected ${chain.anvil.chainId} (eth_chainId)`
    expect(r.providers[2]!.status().refused).toBe(reason)
    expect(r.reader.status().providers.find((p) => p.name === 'tertiary')).toMatchObject({ refused: reason, state: 'closed' })

    chain.proxies[1]!.setFault({ kind: 'down' })
    const getLogsBefore = chain.proxies[2]!.totalRequests('eth_getLogs')
    const paid = await pay([901n])
    for (let i = 0; i < 3; i++) expect(await r.reader.runRound()).toMatchObject({ kind: 'no_quorum', stage: 'head' })
    expect(acceptedLogs(r.events).filter((log) => paid.includes(log.txHash))).toEqual([])
    expect(chain.proxies[2]!.totalRequests('eth_getLogs')).toBe(getLogsBefore)

    chain.proxies[1]!.setFault({ kind: 'none' })
    await readUntilCaughtUp(r.reader, 100)
    expect(acceptedLogs(r.events).filter((log) => paid.includes(log.txHash)).map((log) => log.providers)).toEqual([['primary', 'secondary']])
    expect(chain.proxies[2]!.totalRequests('eth_getLogs')).toBe(getLogsBefore)

    // Recovery: the first good eth_chainId clears the refusal, and it is asked for ranges again.
    chain.proxies[2]!.setFault({ kind: 'none' })
    await r.reader.runRound()
    expect(r.providers[2]!.status().refused).toBeNull()
    await pay([902n])
    await readUntilCaughtUp(r.reader, 100)
    expect(chain.proxies[2]!.totalRequests('eth_getLogs')).toBeGreaterThan(getLogsBefore)
  })

  it('keeps asking a provider refused for eth_getLogs so that a good answer can clear it, and counts its head for nothing meanwhile', async () => {
    const r = await reader(fastBreaker)
    await readUntilCaughtUp(r.reader)
    chain.proxies[2]!.setFault({ kind: 'garbage', methods: ['eth_getLogs'] })
    const paid = await pay([921n])
    await readUntilCaughtUp(r.reader)
    await vi.waitFor(() => expect(r.providers[2]!.status().refused).toBe('answer is not valid JSON-RPC (eth_getLogs)'))
    expect(acceptedLogs(r.events).filter((log) => paid.includes(log.txHash)).map((log) => log.providers)).toEqual([['primary', 'secondary']])

    // Its heads answer well but do not count: with one other down there is no head quorum.
    chain.proxies[0]!.setFault({ kind: 'down' })
    expect(await r.reader.runRound()).toMatchObject({ kind: 'no_quorum', stage: 'head' })
    chain.proxies[0]!.setFault({ kind: 'none' })

    chain.proxies[2]!.setFault({ kind: 'none' })
    await pay([922n])
    await readUntilCaughtUp(r.reader, 100)
    await vi.waitFor(() => expect(r.providers[2]!.status().refused).toBeNull())
  })
})

describe('a provider that never answers', () => {
  it('holds up no round: rounds complete and transfers are accepted while its first requests are still unanswered', async () => {
    // A proxy of its own: no request an earlier test left in flight can be counted here.
    const hung = await startFaultProxy(chain.anvil.url)
    hung.setFault({ kind: 'hang' })
    const providers = [chain.proxies[0]!.url, chain.proxies[1]!.url, hung.url].map((url, i) => ({ name: ['primary', 'secondary', 'tertiary'][i], url }))
    const r = await reader({ providers, rpc: { timeout_ms: 30_000, retries: 0, retry_initial_delay_ms: 5, retry_max_delay_ms: 20 } })
    let rounds = 0
    r.reader.onRound(() => rounds++)
    const paid: string[] = []
    for (const amount of [1001n, 1002n, 1003n]) {
      paid.push(...(await pay([amount])))
      await readUntilCaughtUp(r.reader)
    }
    for (let i = 0; i < 5; i++) await r.reader.runRound()
    expect(acceptedLogs(r.events).filter((log) => paid.includes(log.txHash)).map((log) => log.providers)).toEqual([
      ['primary', 'secondary'],
      ['primary', 'secondary'],
      ['primary', 'secondary'],
    ])
    // Its one probe (eth_chainId and eth_blockNumber) is still held by the proxy: no round waited for it, and none piled another on it.
    expect(rounds).toBeGreaterThanOrEqual(8)
    expect(hung.held()).toBe(2)
    expect(hung.totalRequests()).toBe(2)
    await r.close()
    await hung.close()
  }, 20_000)
})
