import { open, readFile, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StoreCorruptError } from './errors.ts'
import type { Changes } from './lowdb-document.ts'

/** What a journal file holds: its complete records and where the last complete line ends. */
export type JournalContent = { records: Changes[]; validBytes: number; torn: boolean }

/**
 * Reads a journal: one JSON record a line. A last line without its newline, or that does not
 * parse, is a write a crash cut short (never acknowledged) and is left out; a bad line before
 * the last one means the file is damaged.
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
  while (offset < content.length) {
    const end = content.indexOf(0x0a, offset)
    if (end === -1) return { records, validBytes: offset, torn: true }
    try {
      records.push(JSON.parse(content.subarray(offset, end).toString('utf8')) as Changes)
    } catch {
      if (end === content.length - 1) return { records, validBytes: offset, torn: true }
      throw new StoreCorruptError(path, `journal line at byte ${offset} is not JSON`)
    }
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
  #bytes: number

  private constructor(path: string, file: FileHandle, bytes: number) {
    this.path = path
    this.#file = file
    this.#bytes = bytes
  }

  /** Opens for appending, cutting a torn last line first (the caller holds the writer lock). */
  static async open(path: string, validBytes: number): Promise<Journal> {
    const file = await open(path, 'a', 0o600)
    await file.truncate(validBytes)
    await file.datasync()
    // The file may be new: make its directory entry durable too.
    const directory = await open(dirname(path), 'r')
    try {
      await directory.sync()
    } finally {
      await directory.close()
    }
    return new Journal(path, file, validBytes)
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Appends complete lines and returns once they are on disk. */
  async append(lines: string): Promise<void> {
    const buffer = Buffer.from(lines, 'utf8')
    await this.#file.write(buffer)
    await this.#file.datasync()
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
}
