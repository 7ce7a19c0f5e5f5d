// The floor: one plain viem getLogs sweep of the range from one provider. No quorum, no store, no delivery.
import { createPublicClient, http, parseAbiItem, type Address } from 'viem'
import { worker } from '../lib.ts'

type Input = { url: string; token: Address; recipients: Address[]; fromBlock: number; toBlock: number; maxBlockRange: number; expected: number }

worker<Input>(async (input) => {
  const client = createPublicClient({ transport: http(input.url, { retryCount: 0, timeout: 60_000 }) })
  const event = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')
  const started = performance.now()
  let events = 0
  for (let from = input.fromBlock; from <= input.toBlock; from += input.maxBlockRange) {
    const to = Math.min(input.toBlock, from + input.maxBlockRange - 1)
    const logs = await client.getLogs({ address: input.token, event, args: { to: input.recipients }, fromBlock: BigInt(from), toBlock: BigInt(to) })
    events += logs.length
  }
  const elapsedMs = performance.now() - started
  if (events !== input.expected) throw new Error(`floor read ${events} logs, expected ${input.expected}`)
  return { elapsedMs, events }
})
