// The peer: the same sweep through ethers v6 FallbackProvider, three providers, quorum 2:
// what a TypeScript user reaches for to get quorum reads.
import { FallbackProvider, JsonRpcProvider, Network, id, zeroPadValue } from 'ethers'
import { worker } from '../lib.ts'

type Input = { urls: string[]; chainId: number; token: string; recipients: string[]; fromBlock: number; toBlock: number; maxBlockRange: number; expected: number }

worker<Input>(async (input) => {
  const network = Network.from(input.chainId)
  const providers = input.urls.map((url) => new JsonRpcProvider(url, network, { staticNetwork: network, batchMaxCount: 1 }))
  const fallback = new FallbackProvider(
    providers.map((provider, i) => ({ provider, priority: 1, weight: 1, stallTimeout: 2_000 + i })),
    network,
    { quorum: 2 },
  )
  const topics = [id('Transfer(address,address,uint256)'), null, input.recipients.map((r) => zeroPadValue(r, 32))]
  const started = performance.now()
  let events = 0
  for (let from = input.fromBlock; from <= input.toBlock; from += input.maxBlockRange) {
    const to = Math.min(input.toBlock, from + input.maxBlockRange - 1)
    const logs = await fallback.getLogs({ address: input.token, topics, fromBlock: from, toBlock: to })
    events += logs.length
  }
  const elapsedMs = performance.now() - started
  fallback.destroy()
  if (events !== input.expected) throw new Error(`peer read ${events} logs, expected ${input.expected}`)
  return { elapsedMs, events }
})
