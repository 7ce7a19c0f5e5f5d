import { constants } from 'node:fs'
import { open, readFile, stat, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { crc32 } from 'node:zlib'
import { StoreCorruptError, StoreJournalReplacedError } from './errors.ts'
import type { Changes } from './lowdb-document.ts'
import { changesSchema, formatPath } from './store-schema.ts'
import { writeFully } from './write-fully.ts'

/** What a journal file holds: its complete records and where the last complete line ends. */
export type JournalContent = { records: Changes[]; validBytes: number; torn: boolean }

const NEWLINE = 0x0a
const TAB = 0x09

/**
 * One record as a journal line: its JSON, a tab, the CRC-32 of the JSON (8 hex digits), a
 * newline. JSON never holds a raw tab or newline, so both separators are unambiguous. The
 * checksum tells a line damaged after it was acknowledged from a good one.
 */
export function journalLine(changes: Changes): string {
  const json = JSON.stringify(changes)
  return `${json}\t${crc32(json).toString(16).padStart(8, '0')}\n`
}

/**
 * Reads a journal. A commit is acknowledged only once its whole line, newline included, is on
 * disk, so:
 * - a last line without its newline is a write a crash cut short, never acknowledged: it is
 *   left out (and cut off when the writer opens the journal);
 * - a complete line that fails its checksum, does not parse or is not a record is damage to an
 *   acknowledged commit, wherever it is: refused, naming the file and the line's byte offset,
 *   and the file is left as it is (the evidence, and what a backup restore needs).
 * Lines without a checksum were written by the first release; they are read as before, but
 * only ahead of the first checksummed line (a journal is only ever appended to).
 * @throws {StoreCorruptError}
 */
export async function readJournal(path: string): Promise<JournalContent> {
  let content: Buffer
  try {
    content = await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], validBytes: 0, torn: false }
    throw new StoreCorruptError(path, `cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  const records: Changes[] = []
  let offset = 0
  let checksummed = false
  while (offset < content.length) {
    const end = content.indexOf(NEWLINE, offset)
    if (end === -1) return { records, validBytes: offset, torn: true }
    const line = content.subarray(offset, end)
    const tab = line.lastIndexOf(TAB)
    let json: Buffer
    if (tab === -1 && !checksummed) json = line // the first release's format
    else {
      json = line.subarray(0, Math.max(tab, 0))
      const sum = line.subarray(tab + 1).toString('latin1')
      if (tab === -1 || !/^[0-9a-f]{8}$/.test(sum) || crc32(json) !== Number.parseInt(sum, 16)) {
        throw new StoreCorruptError(path, `journal line at byte ${offset} fails its checksum: an acknowledged commit is damaged`)
      }
      checksummed = true
    }
    let value: unknown
    try {
      value = JSON.parse(json.toString('utf8'))
    } catch {
      throw new StoreCorruptError(path, `journal line at byte ${offset} is not JSON: an acknowledged commit is damaged`)
    }
    const parsed = changesSchema.safeParse(value)
    if (!parsed.success) throw new StoreCorruptError(path, `journal line at byte ${offset} is not a store record (${formatPath(parsed.error.issues[0]!.path)}: ${parsed.error.issues[0]!.message})`)
    records.push(parsed.data)
    offset = end + 1
  }
  return { records, validBytes: offset, torn: false }
}

/**
 * The append-only journal of committed transactions. A commit costs one append and one
 * fdatasync of its own changes, whatever the size of the store; the snapshot is rewritten
 * only now and then, after which the journal starts over.
 */
export class Journal {
  readonly path: string
  readonly #file: FileHandle
  /** Length of the journal's good content: every byte below it is a whole, durable line. */
  #bytes: number
  readonly #identity: { dev: number; ino: number }

  private constructor(path: string, file: FileHandle, bytes: number, identity: { dev: number; ino: number }) {
    this.path = path
    this.#file = file
    this.#bytes = bytes
    this.#identity = identity
  }

  /** Opens for writing at `validBytes`, cutting a torn last line first (the caller holds the writer lock). */
  static async open(path: string, validBytes: number): Promise<Journal> {
    // Not O_APPEND: each append writes at the known good length, so a failed one can be cut back exactly.
    const file = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600)
    try {
      await file.truncate(validBytes)
      await file.datasync()
      // The file may be new: make its directory entry durable too.
      const directory = await open(dirname(path), 'r')
      try {
        await directory.sync()
      } finally {
        await directory.close()
      }
      const { dev, ino } = await file.stat()
      return new Journal(path, file, validBytes, { dev, ino })
    } catch (error) {
      await file.close()
      throw error
    }
  }

  get bytes(): number {
    return this.#bytes
  }

  /**
   * Appends complete lines and returns once all of them are on disk; otherwise throws, after
   * cutting the journal back to its last good length (best effort), so no part of a commit
   * that was not acknowledged stays behind to be replayed.
   * @throws {StoreJournalReplacedError} the file at `path` is no longer the one open here.
   */
  async append(lines: string): Promise<void> {
    await this.#assertStillAtPath()
    const buffer = Buffer.from(lines, 'utf8')
    try {
      await writeFully(this.#file, buffer, this.#bytes)
      await this.#file.datasync()
    } catch (error) {
      await this.#file
        .truncate(this.#bytes)
        .then(() => this.#file.datasync())
        .catch(() => undefined)
      throw error
    }
    this.#bytes += buffer.length
  }

  /** Empties the journal once a snapshot holds everything in it. */
  async reset(): Promise<void> {
    await this.#file.truncate(0)
    await this.#file.datasync()
    this.#bytes = 0
  }

  close(): Promise<void> {
    return this.#file.close()
  }

  /**
   * A journal deleted (or replaced by a copy, a restore, an editor's save) while open would take
   * every later commit into a file no start-up ever reads: acknowledged, then lost. Checked
   * before each append (two stat calls, shared by the commits grouped into it).
   */
  async #assertStillAtPath(): Promise<void> {
    const [held, named] = await Promise.all([
      this.#file.stat(),
      stat(this.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null
        throw error
      }),
    ])
    if (named === null || held.nlink === 0 || named.dev !== this.#identity.dev || named.ino !== this.#identity.ino) throw new StoreJournalReplacedError(this.path)
  }
}
