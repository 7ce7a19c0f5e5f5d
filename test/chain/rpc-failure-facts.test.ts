import { TaskCancelledError } from 'cockatiel'
import { HttpRequestError, InvalidParamsRpcError, LimitExceededRpcError, ResponseBodyTooLargeError, RpcRequestError, TimeoutError } from 'viem'
import { describe, expect, it } from 'vitest'
import { rpcFailureFacts } from '../../src/chain/rpc-failure-facts.ts'

const url = 'https://rpc.invalid/v3/secret-key'

describe('rpcFailureFacts reads what classification needs from viem errors, and nothing with the URL', () => {
  it.each([
    ['an HTTP error', new HttpRequestError({ url, status: 503, body: {} }), { httpStatus: 503 }],
    ['a JSON-RPC error', new RpcRequestError({ url, body: {}, error: { code: -32005, message: 'block range too large' } }), { rpcCode: -32005, rpcMessage: 'block range too large' }],
    ['viem timeout', new TimeoutError({ url, body: {} }), { timedOut: true }],
    ['the policy timeout', new TaskCancelledError('timeout'), { timedOut: true }],
    ['a body over the size limit', new ResponseBodyTooLargeError({ maxSize: 10, size: 20 }), { bodyTooLarge: true }],
    ['a non-JSON 200', new HttpRequestError({ url, body: {}, cause: new SyntaxError('Unexpected token <') }), { malformed: true }],
    ['a refused connection', new HttpRequestError({ url, body: {}, cause: new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }) }), { network: true }],
    ['something unknown', new Error('?'), { malformed: true }],
  ])('%s', (_, error, facts) => {
    const read = rpcFailureFacts(error)
    expect(read).toMatchObject(facts)
    expect(JSON.stringify(read)).not.toContain('secret-key')
  })
})

describe('rpcFailureFacts reads the span a refused eth_getLogs states, as a number', () => {
  const range = { fromBlock: 100, toBlock: 199 }
  const body = { method: 'eth_getLogs', params: [{ fromBlock: '0x64', toBlock: '0xc7' }] }
  const infura = { code: -32005, message: 'query returned more than 10000 results. Try with this block range [0x64, 0x6a].' }

  it.each([
    // What viem's client.request throws for each answer, as built by viem itself.
    ['a JSON-RPC error (viem wraps it by code)', new LimitExceededRpcError(new RpcRequestError({ url, body, error: infura })), 7],
    ['the bare transport error', new RpcRequestError({ url, body, error: infura }), 7],
    ['QuickNode: HTTP 413 with a JSON-RPC body', new InvalidParamsRpcError(new RpcRequestError({ url, body, status: 413, error: { code: -32614, message: 'eth_getLogs is limited to a 9 range' } })), 10],
    [
      'Blast: the limit in the error data',
      new InvalidParamsRpcError(new RpcRequestError({ url, body, status: 400, error: { code: -32602, message: 'Invalid params', data: { range: 'the range 100 - 199 exceeds the range allowed for your plan (99 > 20).' } } })),
      21,
    ],
    ['an HTTP 400 whose body is not JSON-RPC', new HttpRequestError({ url, body, status: 400, details: 'eth_getLogs is limited to a 9 range' }), 10],
  ])('%s', (_, error, statedSpan) => {
    const read = rpcFailureFacts(error, range)
    expect(read.statedSpan).toBe(statedSpan)
    expect(JSON.stringify(read)).not.toContain('secret-key')
  })

  it('reads no span without the range asked for (a method other than eth_getLogs)', () => {
    expect(rpcFailureFacts(new RpcRequestError({ url, body, error: infura })).statedSpan).toBeUndefined()
  })

  it('reads no span from an unknown wording, nor from the URL', () => {
    const unknown = new RpcRequestError({ url: 'https://rpc.invalid/Max range: 5/secret-key', body, error: { code: -32000, message: 'block range too large' } })
    expect(rpcFailureFacts(unknown, range).statedSpan).toBeUndefined()
  })
})
