import type { Store } from '../../src/store/store.ts'

/** Thrown by the first run of each transaction, to abort it. */
const ABORTED = Symbol('aborted first run')

/**
 * A store whose every transaction runs twice: first to the end and aborted (none of its puts
 * applied), as PostgreSQL aborts a transaction on a serialization failure, then again for
 * real. The lowdb backend never retries, so this is how a test proves that a caller's
 * transaction is safe to run again (`Store.transact`): nothing it does outside `tx` may
 * happen twice. Everything else goes to `inner` unchanged. `runs` counts the runs of
 * transaction functions.
 */
export function retryingStore(inner: Store): Store & { readonly runs: number } {
  let runs = 0
  return {
    get location() {
      return inner.location
    },
    get failed() {
      return inner.failed
    },
    get deadLetters() {
      return inner.deadLetters
    },
    get runs() {
      return runs
    },
    async transact(fn) {
      await inner
        .transact(async (tx) => {
          runs++
          await fn(tx)
          throw ABORTED
        })
        .catch((error: unknown) => {
          if (error !== ABORTED) throw error
        })
      return await inner.transact((tx) => {
        runs++
        return fn(tx)
      })
    },
    read: (fn) => inner.read(fn),
    findInvoice: (uuid) => inner.findInvoice(uuid),
    listInvoices: (merchantId, query, nowMs) => inner.listInvoices(merchantId, query, nowMs),
    compact: (finalBlock) => inner.compact(finalBlock),
    availability: () => inner.availability(),
    close: () => inner.close(),
  }
}
