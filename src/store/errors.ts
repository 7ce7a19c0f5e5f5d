import { SettleProofError } from '../errors.ts'

/** The store file exists but is not a SettleProof store; it is left untouched. */
export class StoreCorruptError extends SettleProofError {
  constructor(path: string, reason: string) {
    super('STORE_CORRUPT', `store ${path} is unreadable (${reason}); it was left untouched: restore it from a backup, or move it away to start from start_block`)
  }
}

/** Another process holds the store's writer lock. */
export class StoreLockedError extends SettleProofError {
  constructor(path: string, pid: number) {
    super('STORE_LOCKED', `store ${path} is in use by another settleproof process (pid ${pid}): stop that process first, or point storage.path elsewhere`)
  }
}

/**
 * A write did not reach the disk, or could not be trusted to. Fatal: the store refuses every
 * read and transaction from then on, and the process exits for the supervisor to restart it.
 */
export class StoreWriteError extends SettleProofError {
  constructor(path: string, cause: unknown) {
    const reason =
      cause instanceof SettleProofError
        ? `: ${cause.message}`
        : ` (${(cause as NodeJS.ErrnoException)?.code ?? 'error'}): check disk space and permissions; the last committed state is intact`
    super('STORE_WRITE_FAILED', `store ${path} could not be written${reason}`, { cause })
  }
}

/** The journal file the store has open is no longer the one at its path (deleted, or replaced by a copy). */
export class StoreJournalReplacedError extends SettleProofError {
  constructor(path: string) {
    super('STORE_JOURNAL_REPLACED', `its journal ${path} was deleted or replaced while the store was open: nothing more is written into a file nobody would read`)
  }
}

/** The store was written for another chain than the configuration names. */
export class StoreChainMismatchError extends SettleProofError {
  constructor(path: string, stored: number, configured: number) {
    super('STORE_CHAIN_MISMATCH', `store ${path} holds chain ${stored} but chain.id is ${configured}: use a separate storage.path per chain`)
  }
}

/** The store was closed, or a previous write failed, so no more transactions run. */
export class StoreClosedError extends SettleProofError {
  constructor(path: string) {
    super('STORE_CLOSED', `store ${path} is closed`)
  }
}
