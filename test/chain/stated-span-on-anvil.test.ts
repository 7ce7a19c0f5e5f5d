import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { toHex, type Hex } from 'viem'
import type { RangeLimitWording } from '../../src/demo/fault-proxy.ts'
import { acceptedLogs, startChainFixture, startReader, type ChainFixture, type ReaderUnderTest } from '../support/reader-harness.ts'

// Issue 12 item 3: a provider that states its eth_getLogs limit in its "range too large" answer
// is read at that span after ONE refusal; a wording that states none is still halved. Every
// provider is the real fault proxy in front of a real anvil, refusing spans over LIMIT blocks
// in a real provider's words.

const MAX_BLOCK_RANGE = 100
const LIMIT = 7
const PROVIDERS = ['primary', 'secondary', 'tertiary'] as const

let chain: ChainFixture
let open: ReaderUnderTest[] = []

beforeAll(async () => {
  chain = await startChainFixture()
})
afterAll(async () => {
  await chain.close()
})
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()))
  open = []
  for (const proxy of chain.proxies) proxy.setFault({ kind: 'none' })
})

const mine = (blocks: number) => chain.anvil.client.request({ method: 'anvil_mine' as never, params: [toHex(blocks)] as never })

/**
 * A reader starting past everything mined so far, then MAX_BLOCK_RANGE + 20 new blocks with
 * three payments spread over them; runs the one round that reads the first MAX_BLOCK_RANGE.
 * Returns the payments, the round, and how many refusals each provider whose answer made the
 * quorum had received (its pieces all answered before the round could decide, so the count is final).
 */
async function readOneRangeWith(wording: RangeLimitWording) {
  const startBlock = Number(await chain.anvil.client.getBlockNumber()) + 1
  for (const proxy of chain.proxies) proxy.setFault({ kind: 'range-limit', maxSpan: LIMIT, wording })
  const r = await startReader(chain, { chain: { id: chain.anvil.chainId, confirmations: 1, start_block: startBlock, poll_interval_ms: 50, max_block_range: MAX_BLOCK_RANGE } }, `${wording}.json`)
  open.push(r)
  await r.reader.runRound() // nothing to read yet: the providers' heads are heard, so each is asked for the range
  const paid: Hex[] = []
  paid.push(await chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, 11n))
  await mine(40)
  paid.push(await chain.token.transfer(chain.payer, chain.merchantAddresses[1]!, 12n))
  await mine(40)
  paid.push(await chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, 13n))
  await mine(MAX_BLOCK_RANGE + 20 - 83)
  for (const proxy of chain.proxies) proxy.resetCounts()

  const outcome = await r.reader.runRound()
  const logs = acceptedLogs(r.events)
  const witnesses = logs[0]?.providers ?? []
  const refusals = Object.fromEntries(witnesses.map((name) => [name, chain.proxies[PROVIDERS.indexOf(name as (typeof PROVIDERS)[number])]!.rangeRefusals()]))
  return { r, startBlock, paid, outcome, logs, witnesses, refusals }
}

for (const wording of ['alchemy', 'infura', 'quicknode', 'thirdweb'] as const) {
  it(`narrows to the span a provider states (${wording}'s wording) in one refusal, and misses nothing`, async () => {
    const { r, startBlock, paid, outcome, logs, witnesses, refusals } = await readOneRangeWith(wording)
    expect(outcome).toMatchObject({ kind: 'advanced', fromBlock: startBlock, toBlock: startBlock + MAX_BLOCK_RANGE - 1 })
    expect(logs.map((log) => log.txHash)).toEqual(paid)
    for (const log of logs) expect(log.providers).toEqual(witnesses)
    expect(witnesses.length).toBeGreaterThanOrEqual(2)
    // One refusal of the whole range, then pieces of the stated span that all fit.
    expect(refusals).toEqual(Object.fromEntries(witnesses.map((name) => [name, 1])))
    for (const name of witnesses) expect(r.reader.status().providerSpans[name]).toBe(LIMIT)
  })
}

it('halves a span whose refusal states none: several refusals to get under the limit, and misses nothing', async () => {
  const { r, startBlock, paid, outcome, logs, witnesses, refusals } = await readOneRangeWith('unstated')
  expect(outcome).toMatchObject({ kind: 'advanced', fromBlock: startBlock, toBlock: startBlock + MAX_BLOCK_RANGE - 1 })
  expect(logs.map((log) => log.txHash)).toEqual(paid)
  expect(witnesses.length).toBeGreaterThanOrEqual(2)
  // 100 → 50 → 25 → 12 → 6: every piece on the way is refused once, at least one per halving.
  for (const name of witnesses) {
    expect(refusals[name]).toBeGreaterThanOrEqual(4)
    expect(r.reader.status().providerSpans[name]).toBe(6)
  }
})
