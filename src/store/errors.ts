import { SettleProofError } from '../errors.ts'

/*
 * The errors of the store seam, whatever backend runs. What only one backend can raise (a
 * corrupt file, a held writer lock, a migration) lives beside that backend.
 */

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

/** The store was written for another chain than the configuration names. */
export class StoreChainMismatchError extends SettleProofError {
  constructor(location: string, stored: number, configured: number) {
    super('STORE_CHAIN_MISMATCH', `store ${location} holds chain ${stored} but chain.id is ${configured}: use a separate store per chain (storage.path, or the database of storage.url)`)
  }
}

/** The store was closed, or a previous write failed, so no more transactions run. */
export class StoreClosedError extends SettleProofError {
  constructor(path: string) {
    super('STORE_CLOSED', `store ${path} is closed`)
  }
}

/**
 * The store cannot serve now: the database cannot be reached (connection refused or cut, a
 * restart under way). Transient, unlike `StoreWriteError`: the caller retries later, `/readyz`
 * says why meanwhile (SPEC §9). The reason never holds a URL or a password.
 */
export class StoreUnavailableError extends SettleProofError {
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super('STORE_UNAVAILABLE', `store unavailable: ${reason}`, options)
  }
}

/**
 * Another `dlq replay` (a CLI, or the console in any replica) holds the replay turn: replays
 * never overlap, so no dead letter is sent twice by two operators at once. Try again later.
 */
export class DeadLetterReplayBusyError extends SettleProofError {
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super('DLQ_REPLAY_BUSY', `another dlq replay is running${detail}: try again when it has finished`, options)
  }
}
