import { open, readFile } from 'node:fs/promises'
import type { Invoice } from '../../settlement/invoice.ts'
import { StoreCorruptError } from './errors.ts'
import { writeFully } from './write-fully.ts'

/** Where an archived invoice's line is, and what a list needs to place it without reading it. */
type ArchiveEntry = { offset: number; length: number; merchantId: string; createdAt: string }

/** An archived invoice as a list sees it: every archived invoice is settled. */
export type ArchivedInvoiceSummary = { uuid: string; createdAt: string }

/**
 * Settled invoices that left the hot store: one JSON line each, appended and fsynced, indexed
 * in memory by uuid (offset and length) so a lookup reads one line, and by merchant (with the
 * creation time) so a list reads only the lines on its page. The hot store stays the size of
 * what is in flight, whatever the history.
 */
export class InvoiceArchive {
  readonly path: string
  readonly #index = new Map<string, ArchiveEntry>()
  /** Uuids by merchant, for `GET /v1/invoices`. */
  readonly #byMerchant = new Map<string, Set<string>>()
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
      let invoice: Invoice
      try {
        invoice = JSON.parse(line) as Invoice
      } catch {
        throw new StoreCorruptError(path, `line at byte ${offset} is not JSON`)
      }
      archive.#add(invoice, offset, end - offset)
      offset = end + 1
    }
    archive.#size = offset
    return archive
  }

  #add(invoice: Invoice, offset: number, length: number) {
    this.#index.set(invoice.uuid, { offset, length, merchantId: invoice.merchantId, createdAt: invoice.createdAt })
    let uuids = this.#byMerchant.get(invoice.merchantId)
    if (uuids === undefined) this.#byMerchant.set(invoice.merchantId, (uuids = new Set()))
    uuids.add(invoice.uuid)
  }

  has(uuid: string): boolean {
    return this.#index.has(uuid)
  }

  get count(): number {
    return this.#index.size
  }

  /** A merchant's archived invoices, from memory: the file is not read. */
  *summariesOf(merchantId: string): Iterable<ArchivedInvoiceSummary> {
    for (const uuid of this.#byMerchant.get(merchantId) ?? []) yield { uuid, createdAt: this.#index.get(uuid)!.createdAt }
  }

  async get(uuid: string): Promise<Invoice | undefined> {
    return (await this.getMany([uuid]))[0]
  }

  /** Reads these invoices (undefined where one is not archived), opening the file once. */
  async getMany(uuids: readonly string[]): Promise<(Invoice | undefined)[]> {
    const places = uuids.map((uuid) => this.#index.get(uuid))
    if (places.every((at) => at === undefined)) return places.map(() => undefined)
    const file = await open(this.path, 'r')
    try {
      const invoices: (Invoice | undefined)[] = []
      for (const at of places) {
        if (at === undefined) {
          invoices.push(undefined)
          continue
        }
        const buffer = Buffer.alloc(at.length)
        await file.read(buffer, 0, at.length, at.offset)
        invoices.push(JSON.parse(buffer.toString('utf8')) as Invoice)
      }
      return invoices
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
      this.#add(invoice, this.#size, lines[i]!.length - 1)
      this.#size += lines[i]!.length
    }
  }
}
