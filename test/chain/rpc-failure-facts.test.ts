import { TaskCancelledError } from 'cockatiel'
import { HttpRequestError, ResponseBodyTooLargeError, RpcRequestError, TimeoutError } from 'viem'
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
