import type { Hex } from 'viem'
import type { BlockRef } from './chain-state.ts'
import { transferIdentity, type AcceptedLog } from './log.ts'

/** Result of comparing kept block hashes with the chain the providers now agree on. */
export type ForkSearch =
  | { found: true; forkBlock: number }
  /** Every block checked has changed; `next` lists blocks to fetch next (empty: all kept blocks changed). */
  | { found: false; next: number[] }

/**
 * Finds the fork point: the highest kept block whose hash the providers still agree on.
 * `canonical` holds the agreed hash of the blocks fetched so far; the search asks for the
 * next `batch` kept blocks below the lowest one checked, so a shallow reorg costs one
 * batch of calls and a deep one a few.
 */
export function findForkPoint(kept: readonly BlockRef[], canonical: ReadonlyMap<number, Hex>, batch = 8): ForkSearch {
  const descending = [...kept].sort((a, b) => b.number - a.number)
  for (let i = 0; i < descending.length; i++) {
    const block = descending[i]!
    const hash = canonical.get(block.number)
    if (hash === undefined) return { found: false, next: descending.slice(i, i + batch).map((b) => b.number) }
    if (hash === block.hash) return { found: true, forkBlock: block.number }
  }
  return { found: false, next: [] }
}

/**
 * The logs accepted before a reorg that the re-read chain no longer holds. A transfer that
 * was re-included in another block (same transaction, same content) is not removed.
 * Counted as a multiset: a transaction with two identical transfers keeps both identities.
 */
export function removedLogs(before: readonly AcceptedLog[], after: readonly AcceptedLog[]): AcceptedLog[] {
  const remaining = new Map<string, number>()
  for (const log of after) remaining.set(transferIdentity(log), (remaining.get(transferIdentity(log)) ?? 0) + 1)
  return before.filter((log) => {
    const identity = transferIdentity(log)
    const count = remaining.get(identity) ?? 0
    if (count === 0) return true
    remaining.set(identity, count - 1)
    return false
  })
}
