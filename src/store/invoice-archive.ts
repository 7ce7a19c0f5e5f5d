import { open, readFile } from 'node:fs/promises'
import type { Invoice } from '../settlement/invoice.ts'
import { StoreCorruptError } from './errors.ts'
import { writeFully } from './write-fully.ts'

/**
 * Settled invoices that left the hot store: one JSON line each, appended and fsynced, indexed
 * in memory by uuid (offset and length) so a lookup reads one line. The hot store stays the
 * size of what is in flight, whatever the history.
 */
export class InvoiceArchive {
  readonly path: string
  readonly #index = new Map<string, { offset: number; length: number }>()
  #size = 0

  private constructor(path: string) {
    this.path = path
  }

  static async open(path: string): Promise<InvoiceArchive> {
    const archive = new InvoiceArchive(path)
    let content: Buffer
    try {
      content = await readFile(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return archive
      throw new StoreCorruptError(path, `cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    let offset = 0
    while (offset < content.length) {
      let end = content.indexOf(0x0a, offset)
      // A line without its newline is a write a crash cut short; it was never acknowledged.
      if (end === -1) break
      const line = content.subarray(offset, end).toString('utf8')
      try {
        const { uuid } = JSON.parse(line) as { uuid: string }
        archive.#index.set(uuid, { offset, length: end - offset })
      } catch {
        throw new StoreCorruptError(path, `line at byte ${offset} is not JSON`)
      }
      offset = end + 1
    }
    archive.#size = offset
    return archive
  }

  has(uuid: string): boolean {
    return this.#index.has(uuid)
  }

  get count(): number {
    return this.#index.size
  }

  async get(uuid: string): Promise<Invoice | undefined> {
    const at = this.#index.get(uuid)
    if (at === undefined) return undefined
    const file = await open(this.path, 'r')
    try {
      const buffer = Buffer.alloc(at.length)
      await file.read(buffer, 0, at.length, at.offset)
      return JSON.parse(buffer.toString('utf8')) as Invoice
    } finally {
      await file.close()
    }
  }

  /** Appends invoices durably; only then may the caller drop them from the hot store. */
  async append(invoices: readonly Invoice[]): Promise<void> {
    if (invoices.length === 0) return
    const lines = invoices.map((invoice) => Buffer.from(`${JSON.stringify(invoice)}\n`, 'utf8'))
    const file = await open(this.path, 'a', 0o600)
    try {
      await file.truncate(this.#size) // drops a torn line a crash left, so offsets stay exact
      try {
        await writeFully(file, Buffer.concat(lines), this.#size)
        await file.sync()
      } catch (error) {
        // Best effort: leave no part of lines the caller will not count as archived.
        await file.truncate(this.#size).catch(() => undefined)
        throw error
      }
    } finally {
      await file.close()
    }
    for (const [i, invoice] of invoices.entries()) {
      this.#index.set(invoice.uuid, { offset: this.#size, length: lines[i]!.length - 1 })
      this.#size += lines[i]!.length
    }
  }
}
