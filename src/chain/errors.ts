import { SettleProofError } from '../errors.ts'
import type { RpcErrorKind } from './classify-rpc-error.ts'

/** Stable codes of a failed provider call, one per `RpcErrorKind` plus the open breaker. */
export const PROVIDER_ERROR_CODES = {
  transient: 'RPC_TRANSIENT',
  range_too_large: 'RPC_RANGE_TOO_LARGE',
  refused: 'RPC_REFUSED',
  circuit_open: 'RPC_CIRCUIT_OPEN',
} as const satisfies Record<RpcErrorKind | 'circuit_open', string>

/**
 * One provider call failed. The message names the provider and the reason but never its
 * URL (it carries the API key), so the original library error, whose text does, is not
 * kept as the cause.
 */
export class ProviderError extends SettleProofError {
  readonly provider: string
  readonly method: string
  readonly kind: RpcErrorKind | 'circuit_open'
  /** What went wrong, without the provider and method (a refusal shows it as its reason). */
  readonly reason: string
  /**
   * For `range_too_large`: the eth_getLogs span, in blocks, the provider's own error says it
   * serves, when it says one (read where the error was classified, kept as a plain number so
   * the library error need not be). The reader narrows to it instead of halving.
   */
  readonly statedSpan: number | undefined

  constructor(provider: string, method: string, kind: RpcErrorKind | 'circuit_open', reason: string, statedSpan?: number) {
    super(PROVIDER_ERROR_CODES[kind], `provider ${provider}: ${method} failed: ${reason}`)
    this.provider = provider
    this.method = method
    this.kind = kind
    this.reason = reason
    this.statedSpan = statedSpan
  }
}

/** A reorg went deeper than `chain.reorg_window`: a block held final changed. The reader stops rather than guess. */
export class ReorgTooDeepError extends SettleProofError {
  constructor(changedBlock: number, checkpoint: number, reorgWindow: number) {
    super(
      'REORG_TOO_DEEP',
      `the chain reorganised deeper than chain.reorg_window (${reorgWindow}): block ${changedBlock}, held final, changed hash (checkpoint ${checkpoint}); raise chain.reorg_window, then restore the store from a backup older than the fork`,
    )
  }
}
