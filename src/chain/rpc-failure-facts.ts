import { HttpRequestError, ResponseBodyTooLargeError, RpcRequestError, TimeoutError } from 'viem'
import { TaskCancelledError } from 'cockatiel'
import type { RpcFailureFacts } from './classify-rpc-error.ts'
import type { BlockRange } from './quorum-head.ts'
import { statedSpan } from './stated-span.ts'

/**
 * Reads what `classifyRpcError` needs from an error thrown by viem (or by the timeout
 * policy), walking the `cause` chain. Only numbers, flags and the JSON-RPC error message
 * are kept: viem's own messages contain the request URL.
 *
 * For a failed eth_getLogs of `range`, the span the provider says it serves (`statedSpan`)
 * is read from its own words here, where they are at hand, and kept as a number.
 */
export function rpcFailureFacts(error: unknown, range?: BlockRange): RpcFailureFacts {
  const facts: RpcFailureFacts = {}
  /** The provider's own words beyond the JSON-RPC message: its error's `data` (Blast states its limit there), or the body of a non-2xx answer that was not JSON-RPC. */
  let moreWords: string | undefined
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 10; current = current.cause, depth++) {
    if (current instanceof ResponseBodyTooLargeError) facts.bodyTooLarge = true
    else if (current instanceof TaskCancelledError || current instanceof TimeoutError) facts.timedOut = true
    else if (current instanceof HttpRequestError) {
      if (current.status !== undefined) {
        facts.httpStatus = current.status
        moreWords ??= current.details
      }
    } else if (current instanceof RpcRequestError) {
      facts.rpcCode = current.code
      facts.rpcMessage = current.details
      if (current.data !== undefined) moreWords = JSON.stringify(current.data)
    } else if (current instanceof SyntaxError) facts.malformed = true
    else if (current.name === 'TypeError' && /fetch failed|terminated|socket|network/i.test(current.message)) facts.network = true
    else if ('code' in current && typeof current.code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(current.code)) facts.network = true
    else if ('code' in current && typeof current.code === 'number' && facts.rpcCode === undefined) facts.rpcCode = current.code
  }
  if (Object.keys(facts).length === 0) facts.malformed = true
  const message = [facts.rpcMessage, moreWords].filter((words) => words !== undefined && words !== '').join(' ')
  if (range !== undefined && message !== '') {
    const span = statedSpan({ rpcCode: facts.rpcCode, message }, range)
    if (span !== undefined) facts.statedSpan = span
  }
  return facts
}
