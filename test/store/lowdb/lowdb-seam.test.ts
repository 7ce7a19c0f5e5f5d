import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { initialChainState } from '../../../src/chain/chain-state.ts'
import { queuedOutboxEntry, type OutboxEntry } from '../../../src/delivery/outbox-entry.ts'
import type { Invoice } from '../../../src/settlement/invoice.ts'
import { StoreClosedError } from '../../../src/store/errors.ts'
import { Journal } from '../../../src/store/lowdb/journal.ts'
import { openLowdbStore } from '../../../src/store/lowdb/lowdb-store.ts'
import { openInvoiceKey, type PendingOutboxState, type Store } from '../../../src/store/store.ts'
import { openInvoice } from '../../support/invoice.ts'
import { lowdbFiles } from '../../support/lowdb-files.ts'
import { testDeadLetter } from '../../support/dead-letter.ts'

let dir: string
let store: Store

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-seam-'))
  store = await openLowdbStore(lowdbFiles(join(dir, 'store.json')))
})
afterEach(async () => {
  vi.restoreAllMocks()
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

const checkpoint = (n: number) => ({ ...initialChainState(7, 0), checkpoint: n })
const invoice = (n: number, overrides: Partial<Invoice> = {}) => openInvoice({ uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, createdAt: `2030-01-01T00:00:${String(n).padStart(2, '0')}.000Z`, ...overrides })
const ACME_1000 = { merchantId: 'acme', token: invoice(0).token, amount: '1000' }

function entry(n: number, overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  const at = `2030-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`
  return {
    ...queuedOutboxEntry({
      webhookId: `msg_${String(n).padStart(4, '0')}`,
      merchantId: 'acme',
      invoiceUuid: null,
      type: 'payment.unmatched',
      at,
      data: { invoice_uuid: null, merchant_id: 'acme', chain_id: 7, token: invoice(0).token, from: invoice(0).token, to: invoice(0).token, amount: '1', tx_hash: `0x${'1'.repeat(64)}`, block_number: 1, block_hash: `0x${'2'.repeat(64)}`, log_index: 0, confirmations: 1, providers: [], detected_at: at, settled_at: null },
    }),
    ...overrides,
  }
}

/** A promise and the function that settles it: a transaction held open until the test says so. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

describe('lowdb transactions on the async seam', () => {
  it('run one at a time: an async transaction holds its turn until it returns, and the next one reads what it committed', async () => {
    await store.transact((tx) => tx.putChainState(checkpoint(1)))
    const held = gate()
    const order: string[] = []
    const first = store.transact(async (tx) => {
      const seen = (await tx.getChainState())!.checkpoint
      order.push(`first read ${seen}`)
      await held.opened
      tx.putChainState(checkpoint(seen + 1))
      order.push('first put')
    })
    const second = store.transact(async (tx) => {
      const seen = (await tx.getChainState())!.checkpoint
      order.push(`second read ${seen}`)
      tx.putChainState(checkpoint(seen + 10))
    })
    // Bounded: the first transaction is parked on the gate, the second must wait behind it.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual(['first read 1'])
    held.open()
    await Promise.all([first, second])
    expect(order).toEqual(['first read 1', 'first put', 'second read 2'])
    expect((await store.read((r) => r.getChainState()))!.checkpoint).toBe(12)
  })

  it('applies nothing of a transaction that throws after an await, and passes the turn on', async () => {
    await store.transact((tx) => tx.putChainState(checkpoint(1)))
    const failing = store.transact(async (tx) => {
      tx.putChainState(checkpoint(99))
      tx.putInvoice(invoice(1))
      await tx.getChainState()
      throw new Error('consumer bug')
    })
    const next = store.transact(async (tx) => (await tx.getChainState())!.checkpoint)
    await expect(failing).rejects.toThrow('consumer bug')
    expect(await next).toBe(1)
    expect(await store.read((r) => r.getInvoice(invoice(1).uuid))).toBeUndefined()
  })

  it('applies a synchronous transaction as it is called when nobody holds the turn: a read right after sees it while its write is in flight', async () => {
    const committed = store.transact((tx) => tx.putInvoice(invoice(1)))
    expect(await store.read((r) => r.getInvoice(invoice(1).uuid))).toEqual(invoice(1))
    await committed
  })

  it('shares journal writes between the transactions that commit while one is being written (group commit), async ones too', async () => {
    const appends = vi.spyOn(Journal.prototype, 'append')
    const done = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.transact(async (tx) => {
          const current = (await tx.getChainState())?.checkpoint ?? 0
          tx.putChainState(checkpoint(current + 1))
          return i
        }),
      ),
    )
    expect(done).toHaveLength(40)
    expect((await store.read((r) => r.getChainState()))!.checkpoint).toBe(40)
    expect(appends.mock.calls.length).toBeLessThan(40)
  })

  it('refuses a transaction once closed, and says it is not available', async () => {
    expect(store.availability()).toEqual({ available: true })
    await store.close()
    expect(store.availability()).toEqual({ available: false, reason: 'store is closed' })
    await expect(store.transact((tx) => tx.putChainState(checkpoint(1)))).rejects.toThrow(StoreClosedError)
  })

  it('lets a transaction queued before close() commit, and closes after it', async () => {
    const held = gate()
    const queued = store.transact(async (tx) => {
      await held.opened
      tx.putChainState(checkpoint(5))
    })
    const closing = store.close()
    held.open()
    await queued
    await closing
    const reopened = await openLowdbStore(lowdbFiles(join(dir, 'store.json')))
    expect((await reopened.read((r) => r.getChainState()))!.checkpoint).toBe(5)
    await reopened.close()
  })

  it("compaction's commit waits for a transaction that read an invoice it would archive, so the invoice is never both archived and hot", async () => {
    const settled = invoice(1, { status: 'settled', settlement: { txHash: `0x${'1'.repeat(64)}`, blockNumber: 3, blockHash: `0x${'2'.repeat(64)}`, logIndex: 0, from: invoice(0).token, to: invoice(0).token, providers: [], detectedAt: 'x', settledAt: 'x', webhookId: 'msg_1' }, delivery: { webhookId: 'msg_1', status: 'delivered', attempts: 1, lastError: null, updatedAt: 'x' } })
    await store.transact((tx) => tx.putInvoice(settled))
    const held = gate()
    const rewriting = store.transact(async (tx) => {
      const current = (await tx.getInvoice(settled.uuid))!
      await held.opened
      tx.putInvoice({ ...current, delivery: { ...current.delivery!, lastError: 'rewritten' } })
    })
    const compacting = store.compact(100)
    // Compaction has written the archive (the slow part, outside the turn) and would now commit.
    const archive = join(dir, 'store.json.archive.jsonl')
    for (let waited = 0; ((await stat(archive).catch(() => null))?.size ?? 0) === 0; waited += 5) {
      if (waited > 20_000) throw new Error('compaction never wrote the archive')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    // Given time to commit (it must not: the transaction holds the turn), then the transaction goes on.
    await Promise.race([compacting, new Promise((resolve) => setTimeout(resolve, 1_000))])
    held.open()
    await rewriting
    expect(await compacting).toBe(0)
    expect((await store.read((r) => r.counts())).invoices.settled).toBe(1)
    expect((await store.read((r) => r.getInvoice(settled.uuid)))?.delivery?.lastError).toBe('rewritten')
  })
})

describe('lowdb batch reads', () => {
  it('answers openInvoices for many keys at once, oldest first, leaving out keys with none and what is not open', async () => {
    await store.transact((tx) => {
      tx.putInvoice(invoice(3))
      tx.putInvoice(invoice(1))
      tx.putInvoice(invoice(2, { status: 'settled' }))
      tx.putInvoice(invoice(4, { amount: '2000' }))
      tx.putInvoice(invoice(5, { merchantId: 'globex' }))
    })
    const open = await store.read((r) => r.openInvoices([ACME_1000, { ...ACME_1000, amount: '2000' }, { ...ACME_1000, amount: '3000' }, ACME_1000]))
    expect([...open.keys()]).toEqual([openInvoiceKey(ACME_1000), openInvoiceKey({ ...ACME_1000, amount: '2000' })])
    expect(open.get(openInvoiceKey(ACME_1000))!.map((inv) => inv.uuid)).toEqual([invoice(1).uuid, invoice(3).uuid])
  })

  it('sees inside a transaction what it put: an invoice it opened, one it settled, entries and records it staged', async () => {
    await store.transact((tx) => {
      tx.putInvoice(invoice(1))
      tx.putOutboxEntry(entry(1))
      tx.putProcessedTransfers('transfer-a', [{ block: 1, invoiceUuid: null }])
    })
    await store.transact(async (tx) => {
      tx.putInvoice(invoice(2))
      tx.putInvoice({ ...invoice(1), status: 'settled' })
      tx.putOutboxEntry(entry(2))
      tx.putOutboxEntry(entry(1, { state: 'delivered', attempts: 1 }))
      tx.putProcessedTransfers('transfer-a', [])
      tx.putProcessedTransfers('transfer-b', [{ block: 2, invoiceUuid: invoice(2).uuid }])
      const open = await tx.openInvoices([ACME_1000])
      expect(open.get(openInvoiceKey(ACME_1000))!.map((inv) => inv.uuid)).toEqual([invoice(2).uuid])
      const entries = await tx.getOutboxEntries(['msg_0001', 'msg_0002', 'msg_0003'])
      expect([...entries].map(([id, e]) => [id, e.state])).toEqual([
        ['msg_0001', 'delivered'],
        ['msg_0002', 'queued'],
      ])
      const processed = await tx.processedTransfers(['transfer-a', 'transfer-b', 'transfer-c'])
      expect([...processed.keys()]).toEqual(['transfer-b'])
    })
    // Committed: a final entry left the hot outbox (it is counted), an emptied record is gone.
    expect([...(await store.read((r) => r.getOutboxEntries(['msg_0001', 'msg_0002']))).keys()]).toEqual(['msg_0002'])
    expect((await store.read((r) => r.counts())).outbox).toMatchObject({ queued: 1, delivered: 1 })
    expect((await store.read((r) => r.processedTransfers(['transfer-a']))).size).toBe(0)
  })
})

describe('lowdb listPendingOutbox', () => {
  const states: PendingOutboxState[] = ['queued', 'in_flight', 'retrying']

  it('pages through the pending entries oldest first (creation time, then webhook id), leaving out final ones', async () => {
    // Two entries share a creation time; one of each state, a final one, another merchant.
    const entries = [entry(5), entry(1, { state: 'retrying' }), entry(3, { state: 'in_flight' }), { ...entry(4), createdAt: entry(3).createdAt }, entry(2, { merchantId: 'globex' }), entry(6, { state: 'dead', attempts: 3 })]
    await store.transact((tx) => entries.forEach((e) => tx.putOutboxEntry(e)))
    const pages: string[][] = []
    let after: { createdAt: string; webhookId: string } | undefined
    for (let i = 0; i < 10; i++) {
      const page = await store.read((r) => r.listPendingOutbox({ limit: 2, ...(after === undefined ? {} : { after }) }))
      pages.push(page.entries.map((e) => e.webhookId))
      if (page.next === null) break
      after = page.next
    }
    expect(pages).toEqual([['msg_0001', 'msg_0002'], ['msg_0003', 'msg_0004'], ['msg_0005']])
    for (const state of states) {
      const only = await store.read((r) => r.listPendingOutbox({ limit: 10, states: [state] }))
      expect(only.entries.every((e) => e.state === state)).toBe(true)
    }
    const globex = await store.read((r) => r.listPendingOutbox({ limit: 10, merchantId: 'globex' }))
    expect(globex).toEqual({ entries: [entries[4]], next: null })
    const retryingOrInFlight = await store.read((r) => r.listPendingOutbox({ limit: 1, states: ['retrying', 'in_flight'] }))
    expect(retryingOrInFlight).toEqual({ entries: [entries[1]], next: { createdAt: entries[1]!.createdAt, webhookId: 'msg_0001' } })
  })
})

describe('lowdb dead letters', () => {
  it('keeps them in the dlq.path file it was opened with', async () => {
    await store.deadLetters.append([testDeadLetter('msg_a', '2030-01-01T00:00:00.000Z')])
    await store.deadLetters.markReplayed({ kind: 'replayed', webhook_id: 'msg_a', replayed_at: '2030-01-02T00:00:00.000Z', status: 200 })
    expect((await store.deadLetters.list()).map((l) => [l.webhook_id, l.replayed_at])).toEqual([['msg_a', '2030-01-02T00:00:00.000Z']])
    const again = await openLowdbStore(lowdbFiles(join(dir, 'other', 'store.json')))
    try {
      expect(await again.deadLetters.list()).toEqual([])
    } finally {
      await again.close()
    }
  })
})
