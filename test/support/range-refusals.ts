/**
 * "Range too large" refusals in real providers' words, for the tests of `stated-span.ts` and
 * `provider-span.ts`: one per provider family `getLogsRetryHelper` reads a span from, and
 * wordings that state none.
 */

/** The refused piece: 50,000 blocks, wider than every limit below, so each stated one is narrower. */
export const REFUSED_PIECE = { fromBlock: 18_000_000, toBlock: 18_049_999 }

export type RangeRefusal = { family: string; rpcCode?: number; message: string; span: number }

/**
 * One row per provider family `getLogsRetryHelper` reads a span from, in the provider's own
 * words as quoted in the wild (error logs, issues, other clients' tests: Alchemy, Infura,
 * QuickNode, thirdweb, Avalanche, Coinbase, Blast, Hyperliquid, Tron, PublicNode), else in the
 * wording the helper's rule for that family is written against. The span is what the
 * helper means by the number, in blocks: "limited to a 10,000 range" allows toBlock − fromBlock
 * = 10,000, i.e. 10,001 blocks; a suggested [0xA, 0xB] is B − A + 1 blocks.
 */
export const STATED_REFUSALS: RangeRefusal[] = [
  { family: 'Alchemy (suggested range)', rpcCode: -32600, message: 'You can make eth_getLogs requests with up to a 500 block range. Based on your parameters, this block range should work: [0x123c9b2, 0x123cba5]', span: 500 },
  { family: 'Infura (suggested range)', rpcCode: -32005, message: 'query returned more than 10000 results. Try with this block range [0x112A880, 0x112A908].', span: 0x88 + 1 },
  { family: 'zkSync (suggested range, Infura wording)', rpcCode: -32005, message: 'Query returned more than 10000 results. Try with this block range [0x1BA7D0, 0x1BA8FB].', span: 0x12b + 1 },
  { family: 'QuickNode', rpcCode: -32614, message: 'eth_getLogs is limited to a 10,000 range', span: 10_001 },
  { family: 'thirdweb', rpcCode: -32005, message: 'Log response size exceeded. Maximum allowed number of requested blocks is 1000', span: 1_001 },
  { family: 'Avalanche', rpcCode: -32000, message: 'requested too many blocks from 18000000 to 18049999, maximum is set to 2048', span: 2_048 },
  { family: 'Cloudflare', rpcCode: -32000, message: 'Max range: 3500', span: 3_500 },
  { family: 'Ankr (a fixed 3,000-block range for its code -32600)', rpcCode: -32600, message: 'block range is too wide', span: 3_001 },
  { family: 'Ankr TAC', rpcCode: -32000, message: 'maximum [from, to] blocks distance: 2000', span: 2_001 },
  { family: 'BlockPI', rpcCode: -32000, message: 'eth_getLogs is limited to 1024 block range', span: 1_025 },
  { family: 'Blast, paid plan (the limit is in the error data)', rpcCode: -32602, message: 'Invalid params {"range":"the range 55074203 - 55124202 exceeds the range allowed for your plan (49999 > 2000)."}', span: 2_001 },
  { family: 'Chainstack (10,000 for a refused span of 10,000 or more)', rpcCode: -32000, message: 'Block range limit exceeded.', span: 10_001 },
  { family: 'Coinbase', rpcCode: -32005, message: 'please limit the query to at most 1000 blocks', span: 1_000 },
  { family: 'PublicNode', rpcCode: -32000, message: 'exceed maximum block range: 5000', span: 5_001 },
  { family: 'Hyperliquid', rpcCode: -32000, message: 'query exceeds max block range 50', span: 51 },
  { family: 'Swell', rpcCode: -32000, message: 'block range greater than 10000 max', span: 10_001 },
  { family: 'Somnia', rpcCode: -32000, message: 'block range exceeds 1000', span: 1_001 },
  { family: 'Merkle, 10k', rpcCode: -32000, message: 'eth_getLogs range is too large, max is 10k blocks', span: 10_001 },
  { family: 'Merkle, 1k', rpcCode: -32000, message: 'eth_getLogs range is too large, max is 1k blocks', span: 1_001 },
  { family: 'Harmony', rpcCode: -32000, message: 'query must be smaller than size 1024', span: 1_025 },
  { family: 'Moonriver', rpcCode: -32000, message: 'block range is too wide (maximum 1024)', span: 1_025 },
  { family: 'Aurora', rpcCode: -32000, message: 'you can make eth_getLogs requests with up to a 2000 block range', span: 2_001 },
  { family: 'Tron', rpcCode: -32000, message: 'exceed max block range: 5000', span: 5_000 },
]

/** Wordings that state no usable span: the reader halves. */
export const UNSTATED_REFUSALS: Omit<RangeRefusal, 'span'>[] = [
  { family: 'a wording nobody knows', rpcCode: -32000, message: 'the node is not in the mood' },
  { family: "Infura's newer wording, unknown to the helper", rpcCode: -32602, message: 'range 1000000 exceeds limit of 10000' },
  { family: 'Base (known, states no span: the helper says "half")', rpcCode: -32000, message: 'block range too large' },
  { family: 'Sei (a stated limit in a wording the helper does not read)', rpcCode: -32000, message: 'block range too large (2000), maximum allowed is 1000 blocks' },
  { family: 'dRPC (known, states no span)', rpcCode: -32000, message: 'ranges over 10000 blocks are not supported on freetier' },
  { family: "Ankr's wording with another code (the helper's rule needs -32600)", rpcCode: -32000, message: 'block range is too wide' },
  { family: 'the fault proxy in its default wording', rpcCode: -32005, message: 'block range too large: 50000 > 7' },
  { family: 'an empty message', rpcCode: -32000, message: '' },
]
