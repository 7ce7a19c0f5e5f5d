import type { Hex } from 'viem'
import type { BlockRef } from './chain-state.ts'
import { transferIdentity, type AcceptedLog } from './log.ts'

/** Result of comparing kept block hashes with the chain the providers now agree on. */
export type ForkSearch =
  /** Rolling back to `forkBlock` and re-reading above it is safe. */
  | { kind: 'fork'; forkBlock: number }
  /** More hashes are needed: the agreed hashes of `next` (kept blocks, highest first). */
  | { kind: 'fetch'; next: number[] }
  /** A kept block at or below the final floor changed: the reorg is deeper than the window. */
  | { kind: 'too_deep'; changedBlock: number }

/**
 * Finds the fork point: the highest kept block whose hash the providers still agree on.
 * `canonical` holds the agreed hash of the blocks fetched so far; the search asks for the
 * next `batch` kept blocks below the lowest one checked, so a shallow reorg costs one
 * batch of calls and a deep one a few.
 *
 * `floor` is the highest block that is final by the reorg window (`max(highest block read -
 * reorg_window, start_block - 1)`): the chain at or below it cannot change, and everything the
 * reader accepted above it is still on record (recent logs, processed transfers). Only a few
 * block hashes are kept (range ends and blocks with accepted logs), so after one long range a
 * shallow reorg can change every one of them; the fork then lies between the floor and the
 * lowest changed kept block, and rolling back to the floor is safe (re-reading is idempotent).
 * Only a changed kept block at or below the floor proves a reorg deeper than the window.
 */
export function findForkPoint(kept: readonly BlockRef[], canonical: ReadonlyMap<number, Hex>, floor: number, batch = 8): ForkSearch {
  const descending = [...kept].sort((a, b) => b.number - a.number)
  for (let i = 0; i < descending.length; i++) {
    const block = descending[i]!
    const hash = canonical.get(block.number)
    if (hash === undefined) return { kind: 'fetch', next: descending.slice(i, i + batch).map((b) => b.number) }
    // Never below the floor: what lies there is final, and its records may be compacted away.
    if (hash === block.hash) return { kind: 'fork', forkBlock: Math.max(block.number, floor) }
    if (block.number <= floor) return { kind: 'too_deep', changedBlock: block.number }
  }
  return { kind: 'fork', forkBlock: floor }
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
