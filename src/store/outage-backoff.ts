import { ExponentialBackoff, type IBackoff, type IBackoffFactory } from 'cockatiel'
import { StoreUnavailableError } from './errors.ts'

/**
 * How long a loop waits before trying an unavailable store again: from a fifth of a second,
 * doubling (with cockatiel's decorrelated jitter, so replicas that lost the database together
 * do not all come back at the same instant) up to 5 s, so a restarted database is noticed
 * within seconds without a flood of attempts while it is down.
 */
export const STORE_OUTAGE_BACKOFF: IBackoffFactory<unknown> = new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 })

/**
 * The one retry policy of everything that meets an unavailable store (SPEC §9: the database
 * going away is not fatal): the reader's loop, the outbox's loop and the daemon's start-up all
 * wait with it. A `StoreUnavailableError` is transient: the step is tried again after
 * `next()`; any other error is not this policy's to retry. Each failure in a row waits longer,
 * a success (`reset`) starts over from the first delay.
 */
export class OutageBackoff {
  readonly #factory: IBackoffFactory<unknown>
  #backoff: IBackoff<unknown> | undefined

  constructor(factory: IBackoffFactory<unknown> = STORE_OUTAGE_BACKOFF) {
    this.#factory = factory
  }

  /** The store was unavailable once more: how long to wait before the next try (ms). */
  next(): number {
    this.#backoff = this.#backoff === undefined ? this.#factory.next(undefined) : this.#backoff.next(undefined)
    return this.#backoff.duration
  }

  /** The store served: the next outage starts from the first delay. */
  reset(): void {
    this.#backoff = undefined
  }
}

/** Whether an error means "the store cannot serve now, try again later" rather than a failure to report or die of. */
export function isStoreOutage(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError
}

export type RetryWhileUnavailableOptions = {
  /** Ends the waiting: the last `StoreUnavailableError` is thrown at once. */
  signal?: AbortSignal
  /** Told before each wait (to log the reason, never a URL: the error's message holds none). */
  onRetry?: (error: StoreUnavailableError, delayMs: number) => void
  backoff?: OutageBackoff
}

/**
 * Runs `step` until it does not fail with `StoreUnavailableError`, waiting with `OutageBackoff`
 * between tries. Any other error is thrown as it is.
 * @throws the last `StoreUnavailableError` once `signal` is aborted.
 */
export async function retryWhileUnavailable<T>(step: () => Promise<T>, options: RetryWhileUnavailableOptions = {}): Promise<T> {
  const backoff = options.backoff ?? new OutageBackoff()
  for (;;) {
    try {
      return await step()
    } catch (error) {
      if (!isStoreOutage(error) || options.signal?.aborted) throw error
      const delayMs = backoff.next()
      options.onRetry?.(error, delayMs)
      if (!(await pause(delayMs, options.signal))) throw error
    }
  }
}

/** Waits `ms`; resolves false at once if `signal` is or becomes aborted. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const done = (waited: boolean) => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', aborted)
      resolve(waited)
    }
    const aborted = () => done(false)
    const timer = setTimeout(() => done(true), ms)
    signal?.addEventListener('abort', aborted, { once: true })
  })
}
