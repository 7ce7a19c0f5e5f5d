import { describe, expect, it } from 'vitest'
import { classifyRpcError, type RpcErrorKind, type RpcFailureFacts } from '../../src/chain/classify-rpc-error.ts'

type Row = [label: string, facts: RpcFailureFacts, kind: RpcErrorKind]

describe('classifyRpcError', () => {
  const transport: Row[] = [
    ['timeout', { timedOut: true }, 'transient'],
    ['connection failed or reset', { network: true }, 'transient'],
    ['timeout and network together', { timedOut: true, network: true }, 'transient'],
    ['flags explicitly false fall through to the default', { timedOut: false, network: false }, 'refused'],
  ]

  const http: Row[] = [
    ['HTTP 408 request timeout', { httpStatus: 408 }, 'transient'],
    ['HTTP 425 too early', { httpStatus: 425 }, 'transient'],
    ['HTTP 429 too many requests', { httpStatus: 429 }, 'transient'],
    ['HTTP 500', { httpStatus: 500 }, 'transient'],
    ['HTTP 502', { httpStatus: 502 }, 'transient'],
    ['HTTP 503', { httpStatus: 503 }, 'transient'],
    ['HTTP 504', { httpStatus: 504 }, 'transient'],
    ['HTTP 520 (Cloudflare)', { httpStatus: 520 }, 'transient'],
    ['HTTP 400', { httpStatus: 400 }, 'refused'],
    ['HTTP 401 unauthorized', { httpStatus: 401 }, 'refused'],
    ['HTTP 403 forbidden', { httpStatus: 403 }, 'refused'],
    ['HTTP 404 not found', { httpStatus: 404 }, 'refused'],
    ['HTTP 405 method not allowed', { httpStatus: 405 }, 'refused'],
    ['HTTP 407 (not 408)', { httpStatus: 407 }, 'refused'],
    ['HTTP 409 (not 408)', { httpStatus: 409 }, 'refused'],
    ['HTTP 428 (not 429)', { httpStatus: 428 }, 'refused'],
    ['HTTP 499 (just below 5xx)', { httpStatus: 499 }, 'refused'],
    ['HTTP 413 payload too large', { httpStatus: 413 }, 'range_too_large'],
    ['HTTP 302 redirect not followed', { httpStatus: 302 }, 'refused'],
    // The HTTP status decides over a JSON-RPC code carried in the same answer.
    ['HTTP 401 with a server-error JSON-RPC code', { httpStatus: 401, rpcCode: -32000 }, 'refused'],
    ['HTTP 503 with a method-not-found JSON-RPC code', { httpStatus: 503, rpcCode: -32601 }, 'transient'],
    ['HTTP 403 with an unrelated message', { httpStatus: 403, rpcCode: -32000, rpcMessage: 'invalid API key' }, 'refused'],
  ]

  const jsonRpc: Row[] = [
    ['-32603 internal error', { rpcCode: -32603, rpcMessage: 'internal error' }, 'transient'],
    ['-32000 header not found', { rpcCode: -32000, rpcMessage: 'header not found' }, 'transient'],
    ['-32000 without a message', { rpcCode: -32000 }, 'transient'],
    ['-32099 (bottom of the server-error band)', { rpcCode: -32099, rpcMessage: 'server error' }, 'transient'],
    ['-32050 (inside the server-error band)', { rpcCode: -32050 }, 'transient'],
    ['-32005 limit exceeded (rate limit, no range wording)', { rpcCode: -32005, rpcMessage: 'daily request count exceeded, request rate limited' }, 'transient'],
    ['-32001 resource not found', { rpcCode: -32001, rpcMessage: 'resource not found' }, 'transient'],
    ['-32100 (just outside the server-error band)', { rpcCode: -32100, rpcMessage: 'something' }, 'refused'],
    ['-31999 (just outside the server-error band)', { rpcCode: -31999, rpcMessage: 'something' }, 'refused'],
    ['-32601 method not found', { rpcCode: -32601, rpcMessage: 'the method eth_getLogs does not exist/is not available' }, 'refused'],
    ['-32602 invalid params', { rpcCode: -32602, rpcMessage: 'invalid argument 0: hex string has leading zero digits after 0x' }, 'refused'],
    ['-32600 invalid request', { rpcCode: -32600, rpcMessage: 'invalid request' }, 'refused'],
    ['-32700 parse error', { rpcCode: -32700, rpcMessage: 'parse error' }, 'refused'],
    ['-32604 (next to internal error, outside the band)', { rpcCode: -32604 }, 'refused'],
    ['positive application code 3 (execution reverted)', { rpcCode: 3, rpcMessage: 'execution reverted' }, 'refused'],
    ['code 0', { rpcCode: 0 }, 'refused'],
  ]

  const rangeTooLarge: Row[] = [
    ['Infura: more than 10000 results (-32005)', { rpcCode: -32005, rpcMessage: 'query returned more than 10000 results' }, 'range_too_large'],
    ['Infura wording with -32602', { rpcCode: -32602, rpcMessage: 'query returned more than 10000 results' }, 'range_too_large'],
    ['Ankr: block range is too wide (-32602)', { rpcCode: -32602, rpcMessage: 'block range is too wide' }, 'range_too_large'],
    ['Ankr wording with -32000', { rpcCode: -32000, rpcMessage: 'block range is too wide' }, 'range_too_large'],
    ['PublicNode: exceed maximum block range (-32000)', { rpcCode: -32000, rpcMessage: 'exceed maximum block range: 5000' }, 'range_too_large'],
    ['same with -32005', { rpcCode: -32005, rpcMessage: 'exceed maximum block range: 5000' }, 'range_too_large'],
    [
      'Alchemy: Log response size exceeded (-32602)',
      {
        rpcCode: -32602,
        rpcMessage:
          'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response.',
      },
      'range_too_large',
    ],
    ['Alchemy short wording with -32000', { rpcCode: -32000, rpcMessage: 'Log response size exceeded' }, 'range_too_large'],
    ['Erigon: query exceeds max block range', { rpcCode: -32000, rpcMessage: 'query exceeds max block range 1000000' }, 'range_too_large'],
    ['query exceeds max results', { rpcCode: -32005, rpcMessage: 'query exceeds max results 20000, retry with the range 22000000-22000499' }, 'range_too_large'],
    ['Chainstack: block range limit exceeded', { rpcCode: -32602, rpcMessage: 'Block range limit exceeded.' }, 'range_too_large'],
    ['block range is bigger than maxBlockRange', { rpcCode: -32000, rpcMessage: 'block range is bigger than maxBlockRange' }, 'range_too_large'],
    ['Cloudflare-style max range', { rpcCode: -32000, rpcMessage: 'Max range: 3500' }, 'range_too_large'],
    ['block range too large', { rpcCode: -32000, rpcMessage: 'block range too large' }, 'range_too_large'],
    ['range is too big', { rpcCode: -32000, rpcMessage: 'requested range is too big' }, 'range_too_large'],
    ['too many logs', { rpcCode: -32005, rpcMessage: 'too many logs in response' }, 'range_too_large'],
    ['too many blocks', { rpcCode: -32000, rpcMessage: 'requested too many blocks from 1 to 100000, maximum is set to 2048' }, 'range_too_large'],
    ['more than N logs', { rpcCode: -32000, rpcMessage: 'response would contain more than 5000 logs' }, 'range_too_large'],
    ['geth/Infura: query timeout exceeded (-32005)', { rpcCode: -32005, rpcMessage: 'query timeout exceeded' }, 'range_too_large'],
    ['limit exceeded naming the range', { rpcCode: -32005, rpcMessage: 'limit exceeded: reduce the block range' }, 'range_too_large'],
    ['upper-case wording', { rpcCode: -32000, rpcMessage: 'BLOCK RANGE IS TOO WIDE' }, 'range_too_large'],
    // Wordings getLogsRetryHelper states a span from; when the stated span was not narrower than
    // the refused piece (a provider that counts its limit one block differently), the words alone
    // must still say "range too large" (thirdweb's -32602 would otherwise refuse the provider).
    ['thirdweb without a stated span (-32602)', { rpcCode: -32602, rpcMessage: 'Maximum allowed number of requested blocks is 1000' }, 'range_too_large'],
    ['Coinbase without a stated span (-32602)', { rpcCode: -32602, rpcMessage: 'please limit the query to at most 1000 blocks' }, 'range_too_large'],
    ['Ankr TAC without a stated span (-32602)', { rpcCode: -32602, rpcMessage: 'maximum [from, to] blocks distance: 2000' }, 'range_too_large'],
    ['range wording with a refused-looking code', { rpcCode: -32601, rpcMessage: 'query returned more than 10000 results' }, 'range_too_large'],
    ['range wording without a code', { rpcMessage: 'query returned more than 10000 results' }, 'range_too_large'],
    // The range wording wins over the transport facts: the provider did answer.
    ['range wording alongside a 400 status', { httpStatus: 400, rpcCode: -32005, rpcMessage: 'query returned more than 10000 results' }, 'range_too_large'],
    ['range wording alongside a 503 status', { httpStatus: 503, rpcMessage: 'Log response size exceeded' }, 'range_too_large'],
  ]

  // A span read from the provider's words (`statedSpan`, see stated-span.ts) makes the answer a
  // range complaint whatever its code or wording, except when the provider says "slow down".
  const stated: Row[] = [
    ['thirdweb: a stated limit under -32602 invalid params', { rpcCode: -32602, rpcMessage: 'Maximum allowed number of requested blocks is 1000', statedSpan: 1_001 }, 'range_too_large'],
    ['a stated limit under a refused code', { rpcCode: -32601, rpcMessage: 'Max range: 3500', statedSpan: 3_500 }, 'range_too_large'],
    ['a stated limit in the body of an HTTP 400', { httpStatus: 400, statedSpan: 10_001 }, 'range_too_large'],
    ['a stated limit in the body of an HTTP 503', { httpStatus: 503, statedSpan: 10_001 }, 'range_too_large'],
    ['a stated-looking number in an HTTP 429 body is a rate limit', { httpStatus: 429, statedSpan: 26 }, 'transient'],
    ['a stated-looking number in an HTTP 408 body', { httpStatus: 408, statedSpan: 26 }, 'transient'],
    ['a stated-looking number in a rate-limit message', { rpcCode: -32005, rpcMessage: 'your plan is limited to a 25 requests per second rate limit', statedSpan: 26 }, 'transient'],
  ]

  const notRange: Row[] = [
    // Words near the patterns that must not trigger a halving.
    ['"range" alone does not mean too large', { rpcCode: -32000, rpcMessage: 'out of range' }, 'transient'],
    ['"more than" without a number of results', { rpcCode: -32000, rpcMessage: 'more than one filter given' }, 'transient'],
    ['"too many" requests is a rate limit', { rpcCode: -32005, rpcMessage: 'too many requests' }, 'transient'],
    ['"limit exceeded" without range wording', { rpcCode: -32005, rpcMessage: 'limit exceeded' }, 'transient'],
    ['compute units exceeded', { rpcCode: -32000, rpcMessage: 'Your app has exceeded its compute units per second capacity' }, 'transient'],
    ['an empty message', { rpcCode: -32000, rpcMessage: '' }, 'transient'],
    ['an empty message with a refused code', { rpcCode: -32601, rpcMessage: '' }, 'refused'],
  ]

  const other: Row[] = [
    ['malformed body', { malformed: true }, 'refused'],
    ['empty facts', {}, 'refused'],
  ]

  describe.each([
    ['transport failures', transport],
    ['HTTP statuses', http],
    ['JSON-RPC error codes', jsonRpc],
    ['"range too large" wordings', rangeTooLarge],
    ['a span the provider stated', stated],
    ['messages that are not about the range', notRange],
    ['everything else', other],
  ])('%s', (_, rows) => {
    it.each(rows)('%s → %s', (_label, facts, kind) => {
      expect(classifyRpcError(facts)).toBe(kind)
    })
  })

  it('covers every kind at least once in the tables', () => {
    const kinds = new Set([...transport, ...http, ...jsonRpc, ...rangeTooLarge, ...stated, ...notRange, ...other].map(([, , kind]) => kind))
    expect([...kinds].sort()).toEqual(['range_too_large', 'refused', 'transient'])
  })

  it('does not modify the facts it is given', () => {
    const facts: RpcFailureFacts = { httpStatus: 429, rpcCode: -32005, rpcMessage: 'rate limited' }
    const copy = { ...facts }
    classifyRpcError(facts)
    expect(facts).toEqual(copy)
  })

  it('gives the same answer twice for a range message (no stateful global regex)', () => {
    const facts: RpcFailureFacts = { rpcCode: -32005, rpcMessage: 'query returned more than 10000 results' }
    expect([classifyRpcError(facts), classifyRpcError(facts), classifyRpcError(facts)]).toEqual(['range_too_large', 'range_too_large', 'range_too_large'])
  })
})

describe('messages that mention a range but mean "not yet" or "slow down" (found in review)', () => {
  it.each([
    [-32602, 'block range extends beyond current head block'],
    [-32000, 'header not found'],
    [-32005, 'You have exceeded the limit of requests per second'],
    [-32005, 'exceeded maximum rate limit'],
  ])('%i %s → transient', (rpcCode, rpcMessage) => {
    expect(classifyRpcError({ rpcCode, rpcMessage })).toBe('transient')
  })
  it('a provider-specific range limit wording → range_too_large', () => {
    expect(classifyRpcError({ rpcCode: -32614, rpcMessage: 'eth_getLogs is limited to a 10,000 range' })).toBe('range_too_large')
  })
})

describe('an answer too large for the client (viem refuses bodies over 10 MiB)', () => {
  it('shrinks the range like a "range too large" error, whatever else is known', () => {
    expect(classifyRpcError({ bodyTooLarge: true })).toBe('range_too_large')
    expect(classifyRpcError({ bodyTooLarge: true, httpStatus: 200 })).toBe('range_too_large')
  })
})
