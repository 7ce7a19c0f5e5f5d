import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Invoice } from '../../../src/settlement/invoice.ts'
import type { InvoiceListQuery } from '../../../src/settlement/invoice-list-query.ts'
import { openLowdbStore } from '../../../src/store/lowdb/lowdb-store.ts'
import { lowdbFiles } from '../../support/lowdb-files.ts'
import type { Store } from '../../../src/store/store.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-compact-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function settled(block: number, delivery: 'delivered' | 'dead' | 'retrying'): Invoice {
  const uuid = randomUUID()
  const tx = `0x${block.toString(16).padStart(64, '0')}` as const
  return {
    uuid,
    merchantId: 'acme',
    token: '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913',
    amount: String(1_000 + block),
    receiveAddress: null,
    payer: null,
    expiresAt: null,
    createdAt: new Date(1_700_000_000_000 + block).toISOString(),
    status: 'settled',
    requestHash: 'x'.repeat(64),
    settlement: { txHash: tx, blockNumber: block, blockHash: tx, logIndex: 0, from: '0x1111111111111111111111111111111111111111', to: '0x2222222222222222222222222222222222222222', providers: ['primary', 'secondary'], detectedAt: '2030-01-01T00:00:00.000Z', settledAt: '2030-01-01T00:00:00.000Z', webhookId: `msg_${block}` },
    delivery: { webhookId: `msg_${block}`, status: delivery, attempts: 1, lastError: null, updatedAt: '2030-01-01T00:00:00.000Z' },
    reverted: [],
  }
}

/**
 * Fills a store with `history` settled and delivered invoices, compacts, and reports the size
 * of the hot document (the snapshot a clean close leaves): what every snapshot, and so the
 * amortised cost of each event, is proportional to.
 */
async function hotSizeAfter(history: number): Promise<{ bytes: number; sample: Invoice; path: string }> {
  const path = join(dir, `store-${history}.json`)
  const measure = async (work: (store: Awaited<ReturnType<typeof openLowdbStore>>) => Promise<unknown>) => {
    const store = await openLowdbStore(lowdbFiles(path))
    await work(store)
    await store.close()
    return (await stat(path)).size
  }
  const invoices = Array.from({ length: history }, (_, i) => settled(i + 1, 'delivered'))
  const before = await measure(async (store) => {
    for (let i = 0; i < invoices.length; i += 500) await store.transact((tx) => invoices.slice(i, i + 500).forEach((inv) => tx.putInvoice(inv)))
  })
  const bytes = await measure(async (store) => {
    expect(await store.compact(history + 1)).toBe(history)
    await store.transact((tx) => tx.putInvoice(settled(history + 10, 'retrying')))
  })
  expect(bytes).toBeLessThan(before / 10)
  return { bytes, sample: invoices[Math.floor(history / 2)]!, path }
}

it('archives settled, notified invoices below the final block, so the hot store (and each write) stays the same size as history grows', async () => {
  const small = await hotSizeAfter(100)
  const large = await hotSizeAfter(3_000)
  // Equal but for the digits of counters and block numbers: 30× the history, the same write.
  expect(Math.abs(large.bytes - small.bytes)).toBeLessThanOrEqual(16)

  // Archived invoices are still found, also after a restart, and still counted.
  const store = await openLowdbStore(lowdbFiles(large.path))
  try {
    expect(await store.read((r) => r.getInvoice(large.sample.uuid))).toBeUndefined()
    expect((await store.findInvoice(large.sample.uuid)) !== undefined).toBe(true)
    expect(await store.findInvoice(large.sample.uuid)).toEqual(large.sample)
    expect((await store.read((r) => r.counts())).invoices.settled).toBe(3_001)
  } finally {
    await store.close()
  }
})

it('keeps in the hot store what a reorg or the outbox may still need', async () => {
  const store = await openLowdbStore(lowdbFiles(join(dir, 'keep.json')))
  try {
    const recent = settled(500, 'delivered')
    const pending = settled(10, 'retrying')
    const old = settled(10, 'dead')
    await store.transact((tx) => [recent, pending, old].forEach((inv) => tx.putInvoice(inv)))
    expect(await store.compact(100)).toBe(1)
    expect(await store.read((r) => r.getInvoice(recent.uuid))).toBeDefined()
    expect(await store.read((r) => r.getInvoice(pending.uuid))).toBeDefined()
    expect(await store.read((r) => r.getInvoice(old.uuid))).toBeUndefined()
    expect(await store.findInvoice(old.uuid)).toEqual(old)
  } finally {
    await store.close()
  }
})

it('lists archived invoices with the hot ones, newest first, also after a reopen; one both archived and reopened by a reorg counts once, as the hot one', async () => {
  const path = join(dir, 'list.json')
  const query = { status: null, createdAfter: null, createdBefore: null, limit: 100, after: null }
  const listed = async (s: Store, q: Partial<InvoiceListQuery> = {}) => (await s.listInvoices('acme', { ...query, ...q }, Date.now())).invoices
  const old = [1, 2, 3].map((block) => settled(block, 'delivered'))
  const hot = settled(500, 'retrying')
  const globex = { ...settled(4, 'delivered'), merchantId: 'globex' }
  let store = await openLowdbStore(lowdbFiles(path))
  try {
    await store.transact((tx) => [...old, hot, globex].forEach((inv) => tx.putInvoice(inv)))
    expect(await store.compact(100)).toBe(4)
    expect((await store.read((r) => Promise.all(old.map((inv) => r.getInvoice(inv.uuid))))).every((invoice) => invoice === undefined)).toBe(true)
    expect(await listed(store)).toEqual([hot, old[2], old[1], old[0]])
    expect(await listed(store, { status: 'settled', limit: 2, after: { createdAt: old[2]!.createdAt, uuid: old[2]!.uuid } })).toEqual([old[1], old[0]])
    expect(await listed(store, { status: 'open' })).toEqual([])
    // A reorg reopens an archived invoice: it is hot again, and listed once, as it is now.
    const reopened: Invoice = { ...old[1]!, status: 'open', settlement: null, delivery: null, reverted: [old[1]!.settlement!] }
    await store.transact((tx) => tx.putInvoice(reopened))
    expect(await listed(store)).toEqual([hot, old[2], reopened, old[0]])
    expect(await listed(store, { status: 'open' })).toEqual([reopened])
    await store.close()

    store = await openLowdbStore(lowdbFiles(path))
    expect(await listed(store)).toEqual([hot, old[2], reopened, old[0]])
    expect((await store.listInvoices('globex', query, Date.now())).invoices).toEqual([globex])
  } finally {
    await store.close()
  }
})
