/**
 * How a failed RPC call is treated (SPEC §5):
 * - `transient`: timeout, connection error, HTTP 408/429/5xx, JSON-RPC internal errors.
 *   Retried, and counted by the provider's breaker.
 * - `range_too_large`: the provider refuses the eth_getLogs span. That provider reads it in
 *   narrower pieces (`provider-span.ts`); the breaker does not count it.
 * - `refused`: the answer cannot be trusted or used (not JSON-RPC, bad shape, auth or
 *   method errors). The provider sits out the round and the problem is reported.
 */
export type RpcErrorKind = 'transient' | 'range_too_large' | 'refused'

/** What could be learned from a failed call, independent of the library that made it. */
export type RpcFailureFacts = {
  timedOut?: boolean
  /** The connection failed or was reset before an answer arrived. */
  network?: boolean
  /** HTTP status of a non-2xx answer. */
  httpStatus?: number
  /** `error.code` of a JSON-RPC error answer. */
  rpcCode?: number
  /** `error.message` of a JSON-RPC error answer. */
  rpcMessage?: string
  /** The body was not JSON-RPC, or the result had the wrong shape. */
  malformed?: boolean
  /** The answer was larger than the client accepts (viem's 10 MiB limit): too many logs for one call. */
  bodyTooLarge?: boolean
  /**
   * The eth_getLogs span, in blocks, that the provider's error says it serves (narrower than
   * the refused one); see `stated-span.ts`. A stated limit is a "range too large" answer
   * whatever its wording or code (thirdweb's comes as -32602 invalid params).
   */
  statedSpan?: number
}

/**
 * Messages that look like range complaints but mean "try again later": a node behind the
 * requested block, or a rate limit. Checked first.
 */
const NOT_YET_OR_RATE_LIMITED =
  /beyond (the )?(current )?head|ahead of|not (yet )?(processed|synced)|header not found|unknown block|rate.?limit|too many requests|requests? (per|limit)|limit of requests|capacity/i

const RANGE_TOO_LARGE =
  /block range|range (is )?too (large|wide|big)|exceed(s|ed)? (the )?(max(imum)?|limit)|more than \d+ (results|logs)|too many (results|logs|blocks)|response size|max(imum)? (block )?range|query timeout exceeded|limit exceeded.*range|is limited to (a )?[\d,]+ (block )?range|range (limit|is limited)|number of requested blocks|at most [\d,]+ blocks|blocks distance/i

/** -32603 (internal error) and the -32000..-32099 server-error band mean "the node had a problem". */
function isServerErrorCode(code: number): boolean {
  return code === -32603 || (code <= -32000 && code >= -32099)
}

/** HTTP 408, 425 and 429: the server asks the client to try again later. */
function isTryLaterStatus(status: number | undefined): boolean {
  return status === 408 || status === 425 || status === 429
}

export function classifyRpcError(facts: RpcFailureFacts): RpcErrorKind {
  if (facts.bodyTooLarge) return 'range_too_large'
  if (facts.rpcMessage !== undefined && NOT_YET_OR_RATE_LIMITED.test(facts.rpcMessage)) return 'transient'
  // A "slow down" status decides over a limit read from its body (a rate-limit page may say "limited to a 25 …").
  if (facts.statedSpan !== undefined && !isTryLaterStatus(facts.httpStatus)) return 'range_too_large'
  if (facts.rpcMessage !== undefined && RANGE_TOO_LARGE.test(facts.rpcMessage)) return 'range_too_large'
  if (facts.timedOut || facts.network) return 'transient'
  if (facts.httpStatus !== undefined) {
    if (isTryLaterStatus(facts.httpStatus) || facts.httpStatus >= 500) return 'transient'
    if (facts.httpStatus === 413) return 'range_too_large'
    return 'refused'
  }
  if (facts.rpcCode !== undefined) {
    return isServerErrorCode(facts.rpcCode) ? 'transient' : 'refused'
  }
  return 'refused'
}
