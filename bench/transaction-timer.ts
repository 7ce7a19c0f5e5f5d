import type { Store } from '../src/store/store.ts'

/** Time spent in a store's transactions, from the call to the commit (retries included). */
export type TransactionTimes = { count: number; ms: number; maxMs: number }

/**
 * Times every `transact` on `store` from now on (the reader and the outbox share the store
 * object, so both are seen). Bench instrumentation: the instance's method is wrapped, the
 * store itself is unchanged.
 */
export function timeTransactions(store: Store): { times: TransactionTimes; rounded(): TransactionTimes } {
  const times: TransactionTimes = { count: 0, ms: 0, maxMs: 0 }
  const original = store.transact.bind(store)
  ;(store as { transact: Store['transact'] }).transact = async (fn) => {
    const started = performance.now()
    try {
      return await original(fn)
    } finally {
      const ms = performance.now() - started
      times.count++
      times.ms += ms
      times.maxMs = Math.max(times.maxMs, ms)
    }
  }
  return { times, rounded: () => ({ count: times.count, ms: Math.round(times.ms), maxMs: Math.round(times.maxMs) }) }
}
