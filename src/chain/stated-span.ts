import { getLogsRetryHelper } from '@ponder/utils'
import { hexToBigInt, RpcError, toHex, type RpcErrorCode } from 'viem'
import { spanOf } from './provider-span.ts'
import type { BlockRange } from './quorum-head.ts'

/** What a provider said when it refused an eth_getLogs span: its own words, never the request URL. */
export type RangeRefusalText = {
  /** `error.code` of the JSON-RPC error, when the answer was one. */
  rpcCode?: number
  /** The provider's error message (or the body of a non-2xx answer that was not JSON-RPC). */
  message: string
}

/**
 * The widest eth_getLogs span, in blocks, that a provider's refusal of `refused` says it
 * serves, or undefined when it states none narrower than `refused` (then the reader halves).
 *
 * The providers' wordings (Alchemy's and Infura's suggested `[0xA, 0xB]` ranges, QuickNode's
 * "limited to a 10,000 range", thirdweb's "Maximum allowed number of requested blocks is N",
 * and some twenty more) are read by `@ponder/utils`' `getLogsRetryHelper`, kept up to date by
 * an indexer that meets them in production, rather than by a table of our own. Only its
 * *suggested* ranges count: its catch-all answer for known-but-unstated wordings is "half",
 * which the reader does anyway. A suggested `[0xA, 0xB]` is B − A + 1 blocks.
 *
 * The helper is given a viem `RpcError` built from the provider's words alone (it matches
 * against `JSON.stringify(error)` and reads `error.code`), so the request URL, which viem's
 * own errors carry, is never part of what it reads.
 */
export function statedSpan(refusal: RangeRefusalText, refused: BlockRange): number | undefined {
  if (statesNoBlock(refusal.message)) return undefined
  const error = new RpcError<RpcErrorCode>(new Error(refusal.message), { code: refusal.rpcCode, shortMessage: 'eth_getLogs span refused' })
  let retry: ReturnType<typeof getLogsRetryHelper>
  try {
    retry = getLogsRetryHelper({ params: [{ fromBlock: toHex(refused.fromBlock), toBlock: toHex(refused.toBlock) }], error })
  } catch {
    return undefined // a number it cannot turn into a block range: nothing stated
  }
  if (!retry.shouldRetry || !retry.isSuggestedRange || retry.ranges[0] === undefined) return undefined
  const first = retry.ranges[0]
  const span = Number(hexToBigInt(first.toBlock) - hexToBigInt(first.fromBlock)) + 1
  return Number.isSafeInteger(span) && span >= 1 && span < spanOf(refused) ? span : undefined
}

/**
 * A message that states a span under one block: a limit of zero ("Max range: 0", "at most 0
 * blocks") or a suggested range that ends before it starts. `getLogsRetryHelper` subtracts one
 * from some stated limits and cuts the range in steps of (limit + 1), so such a message would
 * make it step by zero and never return; it is not handed over (the reader halves instead).
 * Any zero in the message counts, so a wording that quotes block 0 is halved too: that costs
 * a refusal or two, never a hang.
 */
function statesNoBlock(message: string): boolean {
  for (const number of message.match(/(?<!\w)\d[\d,.]*(?!\w)/g) ?? []) if (/^[0,.]+$/.test(number)) return true
  for (const [, start, end] of message.matchAll(/\[\s*0x([0-9a-f]+)\s*,\s*0x([0-9a-f]+)\s*\]/gi)) if (BigInt(`0x${end}`) < BigInt(`0x${start}`)) return true
  return false
}
