import { stat } from 'node:fs/promises'
import { foldDeadLetters, type DeadLetterView } from '../../delivery/dead-letter.ts'
import { appendDeadLetterLines, readDeadLetterLines } from '../dead-letter-file.ts'
import type { DeadLetters } from '../store.ts'
import { DeadLetterReplayBusyError } from '../errors.ts'
import { StoreLockedError } from './errors.ts'
import { acquireWriterLock } from './writer-lock.ts'

/**
 * The dead letters of the lowdb backend: the `dlq.path` JSONL file, appended to by the daemon
 * and by `dlq replay` (one O_APPEND write each, so both can at once), never rewritten. One
 * replay at a time: `withReplayLock` takes the writer lock of `<dlq.path>.replay` (refusing with
 * `DeadLetterReplayBusyError` while another holds it), released by the kernel if the replaying
 * process dies.
 *
 * `list()` reads the file again only when it changed (another inode, or another size: it only
 * grows), so the daemon can ask every few seconds for the replays another process recorded
 * without reading the whole history each time.
 */
export function openFileDeadLetters(path: string): DeadLetters {
  let cached: { version: string; letters: DeadLetterView[] } | null = null
  return {
    append: (letters) => appendDeadLetterLines(path, letters),
    async list() {
      // The version is taken before the read: a line appended in between makes the next call read again, never the reverse.
      const version = await stat(path).then(
        (found) => `${found.dev}:${found.ino}:${found.size}`,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return 'missing'
          throw error
        },
      )
      if (cached?.version !== version) cached = { version, letters: foldDeadLetters(await readDeadLetterLines(path)) }
      return cached.letters.map((letter) => ({ ...letter }))
    },
    markReplayed: (mark) => appendDeadLetterLines(path, [mark]),
    async withReplayLock(fn) {
      const lock = await acquireWriterLock(`${path}.replay`, 'dlq.path').catch((error: unknown) => {
        throw error instanceof StoreLockedError ? new DeadLetterReplayBusyError(` on ${path} (dlq.path)`, { cause: error }) : error
      })
      try {
        return await fn()
      } finally {
        await lock.release()
      }
    },
    async close() {
      cached = null
    },
  }
}
