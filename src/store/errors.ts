import { hostname } from 'node:os'
import { SettleProofError } from '../errors.ts'

/** The store file exists but is not a SettleProof store; it is left untouched. */
export class StoreCorruptError extends SettleProofError {
  constructor(path: string, reason: string) {
    super('STORE_CORRUPT', `store ${path} is unreadable (${reason}); it was left untouched: restore it from a backup, or move it away to start from start_block`)
  }
}

/** Who holds a writer lock, as the holder recorded it (informational: never the lock itself). */
export type StoreLockOwner = { pid: number; host: string }

/**
 * Another process (or another opener in this one) holds the store's writer lock. The owner is
 * named when its record could be read.
 */
export class StoreLockedError extends SettleProofError {
  constructor(path: string, owner: StoreLockOwner | undefined, setting = 'storage.path') {
    const who = owner === undefined ? '' : ` (pid ${owner.pid}${owner.host !== '' && owner.host !== hostname() ? ` on ${owner.host}` : ''})`
    super('STORE_LOCKED', `store ${path} is in use by another settleproof process${who}: stop that process first, or point ${setting} elsewhere`)
  }
}

/** What an operator reads, and does, for each errno that makes a store location unusable. */
const LOCATION_PROBLEMS: Record<string, { reason: string; action: string }> = {
  ENOTDIR: { reason: 'it is a file, not a directory', action: 'set {setting} to a file inside a directory' },
  EISDIR: { reason: 'it is a directory', action: 'move that directory away, or set {setting} elsewhere' },
  EACCES: { reason: 'this user may not write there', action: 'give the user settleproof runs as write access to the directory, or set {setting} to a writable place' },
  EPERM: { reason: 'this user may not write there', action: 'give the user settleproof runs as write access to the directory, or set {setting} to a writable place' },
  EROFS: { reason: 'the filesystem is read-only', action: 'mount it read-write, or set {setting} to a writable place' },
  ENOSPC: { reason: 'the disk is full', action: 'free some space, or set {setting} elsewhere' },
}

/**
 * The store's directory or lock file cannot be created or written (a part of the path is a
 * file, a read-only filesystem, no permission). Raised at start-up, before anything is read.
 */
export class StoreLocationError extends SettleProofError {
  /** The errno (`ENOTDIR`, `EROFS`, `EACCES` …), or `SQLITE` for a failure the lock's SQLite reported. */
  readonly errno: string

  constructor(path: string, failedPath: string, cause: unknown, setting = 'storage.path') {
    const code = (cause as NodeJS.ErrnoException)?.code
    const errno = typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined
    const known = errno === undefined ? undefined : LOCATION_PROBLEMS[errno]
    const reason = known?.reason ?? (cause as Error)?.message ?? String(cause)
    const action = (known?.action ?? 'check that {setting} names a writable place').replace('{setting}', setting)
    const what = failedPath === path ? '' : ` (${failedPath})`
    super('STORE_LOCATION_UNUSABLE', `${setting} ${path} cannot be used${what}: ${reason}${errno === undefined ? '' : ` (${errno})`}: ${action}`, { cause })
    this.errno = errno ?? 'SQLITE'
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

/** The database cannot be reached (refused, connection cut, restarting): transient, retry later; never fatal. */
export class StoreUnavailableError extends SettleProofError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', `store unavailable: ${reason}`, options)
  }
}
