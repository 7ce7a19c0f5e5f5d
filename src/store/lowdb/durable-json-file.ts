import { open, readFile, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Adapter } from 'lowdb'
import { StoreCorruptError } from './errors.ts'

/**
 * A lowdb adapter whose writes survive a crash or power loss at any instant: the document is
 * written to a temporary file, fsynced, renamed over the store, and the directory is fsynced
 * so the rename itself is durable. lowdb's own JSONFile renames but never fsyncs.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly path: string
  /** Size of the last document written, in bytes. */
  lastWriteBytes = 0
  /** Size of the document read at open, in bytes. */
  lastReadBytes = 0
  readonly #parse: (value: unknown) => { document: T } | { problem: string }

  /** `parse` checks a parsed document and returns it, or why it is not a store. */
  constructor(path: string, parse: (value: unknown) => { document: T } | { problem: string }) {
    this.path = path
    this.#parse = parse
  }

  async read(): Promise<T | null> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw new StoreCorruptError(this.path, `cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    this.lastReadBytes = Buffer.byteLength(text)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new StoreCorruptError(this.path, text.length === 0 ? 'the file is empty' : 'not valid JSON')
    }
    const parsed = this.#parse(value)
    if ('problem' in parsed) throw new StoreCorruptError(this.path, parsed.problem)
    return parsed.document
  }

  async write(data: T): Promise<void> {
    // Serialise before the first await so later in-memory changes cannot tear this snapshot.
    const text = JSON.stringify(data)
    this.lastWriteBytes = Buffer.byteLength(text)
    const temporary = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`)
    const file = await open(temporary, 'w', 0o600)
    try {
      await file.writeFile(text, 'utf8')
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temporary, this.path)
    const directory = await open(dirname(this.path), 'r')
    try {
      await directory.sync()
    } finally {
      await directory.close()
    }
  }

  /**
   * Removes the temporary files crashed writers left behind. Call it only while holding the
   * writer lock: then no other process can be writing one.
   */
  async removeLeftovers(): Promise<void> {
    const prefix = `.${basename(this.path)}.`
    for (const name of await readdir(dirname(this.path))) {
      if (name.startsWith(prefix) && name.endsWith('.tmp')) await rm(join(dirname(this.path), name), { force: true })
    }
  }
}
