/**
 * The highest block that at least `quorum` providers have reached, or undefined when fewer
 * than `quorum` providers answered. One provider far ahead (or lying about its head) cannot
 * raise it; one far behind cannot hold it back.
 */
export function quorumHead(heads: readonly number[], quorum: number): number | undefined {
  if (heads.length < quorum) return undefined
  return [...heads].sort((a, b) => b - a)[quorum - 1]
}

/** The last final block: `head - block + 1 >= confirmations` (SPEC §4). */
export function safeHead(head: number, confirmations: number): number {
  return head - confirmations + 1
}

export type BlockRange = { fromBlock: number; toBlock: number }

/**
 * The next range to read: from just after the checkpoint, at most `maxBlockRange` blocks,
 * never past the safe head. Undefined when there is nothing final to read.
 */
export function nextRange(checkpoint: number, safe: number, maxBlockRange: number): BlockRange | undefined {
  if (safe <= checkpoint) return undefined
  return { fromBlock: checkpoint + 1, toBlock: Math.min(safe, checkpoint + maxBlockRange) }
}
