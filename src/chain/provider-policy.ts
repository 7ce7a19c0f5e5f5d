import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type IPolicy,
} from 'cockatiel'
import type { BreakerConfig, RpcConfig } from '../config/schema.ts'
import { ProviderError } from './errors.ts'

/** One provider's resilience: the composed policy and, for state and events, its breaker. */
export type ProviderPolicy = {
  /** retry ∘ breaker ∘ timeout: each attempt has its own timeout and counts at the breaker. */
  policy: IPolicy
  breaker: CircuitBreakerPolicy
}

/** Only transient failures are retried and counted; "range too large" and refusals pass through. */
export function isTransientFailure(error: unknown): boolean {
  if (error instanceof TaskCancelledError) return true
  return error instanceof ProviderError && error.kind === 'transient'
}

/**
 * Builds the policy wrapped around every call to one provider, from configuration:
 * a consecutive breaker (`failure_threshold` transient failures in a row open it, it
 * half-opens after `open_ms`, `success_threshold` successes close it, any half-open failure
 * re-opens it), retries with exponential backoff, and a timeout per attempt.
 */
export function createProviderPolicy(breakerConfig: BreakerConfig, rpcConfig: RpcConfig): ProviderPolicy {
  const transient = handleWhen(isTransientFailure)
  const breaker = circuitBreaker(transient, {
    breaker: new ConsecutiveBreaker(breakerConfig.failure_threshold),
    halfOpenAfter: breakerConfig.open_ms,
    halfOpenSampling: { calls: breakerConfig.success_threshold, threshold: 0 },
  })
  const retryPolicy = retry(
    handleWhen((error) => isTransientFailure(error) && !(error instanceof BrokenCircuitError)),
    {
      maxAttempts: rpcConfig.retries,
      backoff: new ExponentialBackoff({ initialDelay: rpcConfig.retry_initial_delay_ms, maxDelay: rpcConfig.retry_max_delay_ms }),
    },
  )
  // Aggressive: viem calls take no AbortSignal, so the policy stops waiting at the deadline.
  const timeoutPolicy = timeout(rpcConfig.timeout_ms, TimeoutStrategy.Aggressive)
  return { policy: wrap(retryPolicy, breaker, timeoutPolicy), breaker }
}
