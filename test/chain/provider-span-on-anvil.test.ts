import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { toHex, type Hex } from 'viem'
import type { Disagreement } from '../../src/chain/chain-reader.ts'
import type { RpcAttempt } from '../../src/chain/rpc-provider.ts'
import { eventually } from '../support/daemon-harness.ts'
import { acceptedLogs, readUntilCaughtUp, startChainFixture, startReader, type ChainFixture, type ReaderUnderTest } from '../support/reader-harness.ts'

// Issue 9 item 9: one provider refusing any eth_getLogs span over one block (the fault proxy's
// "block range too large" JSON-RPC error) must not narrow the range the others read.

const MAX_BLOCK_RANGE = 100
const chainConfig = (chainId: number) => ({ chain: { id: chainId, confirmations: 1, start_block: 1, poll_interval_ms: 50, max_block_range: MAX_BLOCK_RANGE } })

let chain: ChainFixture
let paid: Hex[]
let open: ReaderUnderTest[] = []

beforeAll(async () => {
  chain = await startChainFixture()
  // About 280 blocks with payments spread over them: three ranges of MAX_BLOCK_RANGE.
  const mine = (blocks: number) => chain.anvil.client.request({ method: 'anvil_mine' as never, params: [toHex(blocks)] as never })
  paid = []
  paid.push(await chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, 901n))
  await mine(120)
  paid.push(await chain.token.transfer(chain.payer, chain.merchantAddresses[1]!, 902n))
  await mine(150)
  paid.push(await chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, 903n))
})
afterAll(async () => {
  await chain.close()
})
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()))
  open = []
  for (const proxy of chain.proxies) proxy.setFault({ kind: 'none' })
})

async function reader(name: string) {
  const r = await startReader(chain, chainConfig(chain.anvil.chainId), `${name}.json`)
  open.push(r)
  const disagreements: Disagreement[] = []
  r.reader.onDisagreement((d) => disagreements.push(d))
  // The limited provider's successful eth_getLogs calls: with a one-block limit only one-block
  // calls succeed, so once it has read every block there is exactly one per block.
  const tertiaryLogReads: RpcAttempt[] = []
  r.providers[2]!.onAttempt((attempt) => {
    if (attempt.method === 'eth_getLogs' && attempt.outcome === 'ok') tertiaryLogReads.push(attempt)
  })
  return { r, disagreements, tertiaryLogReads }
}

const rangesOf = (r: ReaderUnderTest) => r.events.flatMap((e) => (e.type === 'logs' ? [[e.fromBlock, e.toBlock] as const] : []))

function expectFullRanges(r: ReaderUnderTest, head: number) {
  const ranges = rangesOf(r)
  expect(ranges.length).toBe(Math.ceil(head / MAX_BLOCK_RANGE))
  ranges.forEach(([from, to], i) => {
    expect(from).toBe(1 + i * MAX_BLOCK_RANGE)
    expect(to).toBe(Math.min(head, from + MAX_BLOCK_RANGE - 1))
  })
}

it('reads the full range per round through the others while a provider limited to one block reads it in pieces that agree', async () => {
  chain.proxies[2]!.setFault({ kind: 'range-limit', maxSpan: 1 })
  const { r, disagreements, tertiaryLogReads } = await reader('one-block-provider')
  const head = Number(await chain.anvil.client.getBlockNumber())
  await readUntilCaughtUp(r.reader)

  expectFullRanges(r, head)
  expect(acceptedLogs(r.events).map((log) => log.txHash)).toEqual(paid)
  expect(r.reader.status().maxBlockRange).toBe(MAX_BLOCK_RANGE)
  expect(r.reader.status().providerSpans).toMatchObject({ primary: MAX_BLOCK_RANGE, secondary: MAX_BLOCK_RANGE })
  expect(r.reader.status().providerSpans.tertiary).toBeLessThan(MAX_BLOCK_RANGE)

  // Its pieces may answer after the quorum decided; once it has read its ranges, its joined
  // answers were compared with the agreed ones and none differed. The first range may be read
  // without it: a provider never heard from is not waited for when its head cannot change the
  // quorum head (decideQuorumHead), so it is asked from the second range on, one call per block.
  const firstRange = Math.min(head, MAX_BLOCK_RANGE)
  await eventually(() => tertiaryLogReads.length >= head - firstRange, 20_000, 'the limited provider to read every block after the first range')
  expect(tertiaryLogReads.length).toBeLessThanOrEqual(head)
  expect(disagreements).toEqual([])
})

it('counts the limited provider toward the quorum when its joined pieces are needed', async () => {
  chain.proxies[0]!.setFault({ kind: 'down' })
  chain.proxies[2]!.setFault({ kind: 'range-limit', maxSpan: 1 })
  const { r, disagreements } = await reader('one-down-one-limited')
  const head = Number(await chain.anvil.client.getBlockNumber())
  await readUntilCaughtUp(r.reader)
  expectFullRanges(r, head)
  const logs = acceptedLogs(r.events)
  expect(logs.map((log) => log.txHash)).toEqual(paid)
  for (const log of logs) expect(log.providers).toEqual(['secondary', 'tertiary'])
  expect(disagreements.filter((d) => d.provider === 'tertiary')).toEqual([])
})

it('grows the limited provider back to the full range once its limit is lifted', async () => {
  chain.proxies[2]!.setFault({ kind: 'range-limit', maxSpan: 1 })
  const { r, disagreements } = await reader('limit-lifted')
  await readUntilCaughtUp(r.reader)
  expect(r.reader.status().providerSpans.tertiary).toBeLessThan(MAX_BLOCK_RANGE)

  chain.proxies[2]!.setFault({ kind: 'none' })
  const mineOne = () => chain.anvil.client.request({ method: 'evm_mine' as never, params: [] as never })
  // One new block per round: each round is one more range the provider reads without refusal.
  for (let i = 0; i < 100 && r.reader.status().providerSpans.tertiary! < MAX_BLOCK_RANGE; i++) {
    await mineOne()
    await readUntilCaughtUp(r.reader)
  }
  expect(r.reader.status().providerSpans.tertiary).toBe(MAX_BLOCK_RANGE)
  expect(disagreements.filter((d) => d.provider === 'tertiary')).toEqual([])
})
