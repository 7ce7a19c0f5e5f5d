import type pg from 'pg'
import type { DeadLetter, DeadLetterView, ReplayMark } from '../../delivery/dead-letter.ts'
import { appendDeadLetterLines } from '../dead-letter-file.ts'
import { DeadLetterReplayBusyError, StoreUnavailableError } from '../errors.ts'
import type { DeadLetters } from '../store.ts'
import { DLQ_REPLAY_LOCK } from './advisory-locks.ts'
import { classifyPostgresError } from './classify-error.ts'
import type { Queryable } from './queries.ts'

export type PostgresDeadLettersParameters = {
  /** Queries that report an unreachable database as `StoreUnavailableError`. */
  q: Queryable
  /** A new client outside the pool, not yet connected: the replay lock lives on it. */
  lockClient: () => pg.Client
  /** The local audit trail (`dlq.path`): every letter and mark is appended there too, in the JSONL format. */
  dlqPath: string
  /** Releases what the owner opened for these dead letters alone (a standalone pool). */
  release?: () => Promise<void>
}

/**
 * The dead-letter queue in the database, one for every process sharing it (SPEC §10): letters
 * keyed by webhook id, in the order they died, with their latest replay. Each letter and replay
 * mark is also appended to this process's `dlq.path`, the local audit trail, in the same JSONL
 * format as the embedded backend's file. The database is written first: when it cannot be
 * reached, nothing is written anywhere and the caller retries the whole step.
 */
export class PostgresDeadLetters implements DeadLetters {
  readonly #q: Queryable
  readonly #lockClient: () => pg.Client
  readonly #dlqPath: string
  readonly #release: (() => Promise<void>) | undefined

  constructor(parameters: PostgresDeadLettersParameters) {
    this.#q = parameters.q
    this.#lockClient = parameters.lockClient
    this.#dlqPath = parameters.dlqPath
    this.#release = parameters.release
  }

  async append(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return
    // A letter given twice counts once, at its later place (as the file's fold does).
    const unique = new Map<string, DeadLetter>()
    for (const letter of letters) {
      unique.delete(letter.webhook_id)
      unique.set(letter.webhook_id, letter)
    }
    await this.#q.query(
      `INSERT INTO dead_letters (letter)
       SELECT value FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS input(value, position) ORDER BY position
       ON CONFLICT (webhook_id) DO UPDATE SET letter = EXCLUDED.letter, died = EXCLUDED.died`,
      [JSON.stringify([...unique.values()])],
    )
    await appendDeadLetterLines(this.#dlqPath, letters)
  }

  async list(): Promise<DeadLetterView[]> {
    const result = await this.#q.query<{ letter: DeadLetter; replayed_at: string | null }>('SELECT letter, replayed_at FROM dead_letters ORDER BY died')
    return result.rows.map((row) => ({ ...row.letter, replayed_at: row.replayed_at }))
  }

  async markReplayed(mark: ReplayMark): Promise<void> {
    await this.#q.query('UPDATE dead_letters SET replayed_at = $2, replay_status = $3 WHERE webhook_id = $1', [mark.webhook_id, mark.replayed_at, mark.status])
    await appendDeadLetterLines(this.#dlqPath, [mark])
  }

  /**
   * Runs `fn` holding a session advisory lock on a connection of its own: a second `dlq replay`
   * anywhere on the cluster is refused (`DeadLetterReplayBusyError`) until the first is done. The lock goes with its connection,
   * so a replay that dies (SIGKILL included) releases it at once.
   */
  async withReplayLock<T>(fn: () => Promise<T>): Promise<T> {
    const client = this.#lockClient()
    try {
      await client.connect()
      const taken = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS taken', [...DLQ_REPLAY_LOCK])
      if (taken.rows[0]?.taken !== true) throw new DeadLetterReplayBusyError('')
    } catch (error) {
      await client.end().catch(() => undefined)
      if (error instanceof DeadLetterReplayBusyError) throw error
      const failure = classifyPostgresError(error)
      throw failure.kind === 'unavailable' ? new StoreUnavailableError(failure.reason, { cause: error }) : error
    }
    try {
      return await fn()
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...DLQ_REPLAY_LOCK]).catch(() => undefined)
      await client.end().catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    await this.#release?.()
  }
}
