import type { Hex } from 'viem'
import type { AcceptedLog } from './log.ts'

/** A block the reader has seen, kept to detect reorgs below the checkpoint. */
export type BlockRef = { number: number; hash: Hex }

/**
 * A reorg under way: the checkpoint was rolled back to `forkBlock` and blocks up to
 * `untilBlock` are being read again. `candidates` are the logs accepted above the fork
 * before it; those not seen again by `untilBlock` are reported as removed.
 */
export type PendingReorg = { forkBlock: number; untilBlock: number; candidates: AcceptedLog[] }

/** The reader's durable position. Invariant: `blocks` is sorted and all at or below `checkpoint`. */
export type ChainState = {
  chainId: number
  /** `last_processed_block`: every block up to here was read under quorum. */
  checkpoint: number
  /** Recent block hashes (range ends and blocks with accepted logs), within `reorg_window`. */
  blocks: BlockRef[]
  /** Accepted logs within `reorg_window`, to tell which ones a reorg removed. */
  recentLogs: AcceptedLog[]
  pendingReorg: PendingReorg | null
}

/** The state of a new store: nothing read, the checkpoint just before `start_block`. */
export function initialChainState(chainId: number, startBlock: number): ChainState {
  return { chainId, checkpoint: startBlock - 1, blocks: [], recentLogs: [], pendingReorg: null }
}
