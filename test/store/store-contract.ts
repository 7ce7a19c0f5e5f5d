// The store contract: what every backend behind the seam (src/store/store.ts) promises, written
// once and run against each of them (test/store/postgres/postgres-store.test.ts runs it on a
// real PostgreSQL; the lowdb backend runs it on real files). Nothing here is mocked: each test
// opens a real, fresh, empty store through the factory it is given.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { initialChainState, type ChainState } from '../../src/chain/chain-state.ts'
import { foldDeadLetters, type DeadLetter, type DeadLetterLine } from '../../src/delivery/dead-letter.ts'
import { queuedOutboxEntry, type OutboxEntry, type OutboxState } from '../../src/delivery/outbox-entry.ts'
import type { WebhookData } from '../../src/delivery/webhook-payload.ts'
import { SettleProofError } from '../../src/errors.ts'
import type { Invoice, Settlement } from '../../src/settlement/invoice.ts'
import type { InvoiceListQuery } from '../../src/settlement/invoice-list-query.ts'
import { StoreClosedError } from '../../src/store/errors.ts'
import { openInvoiceKey, type OpenInvoiceKey, type Store, type StoreCounts } from '../../src/store/store.ts'
import { openInvoice } from '../support/invoice.ts'

/** A fresh, empty store of one backend, and how to open the same one again once it is closed. */
export type StoreUnderTest = {
  store: Store
  /** Opens the same store again (after `store.close()`), as a restarted process would. */
  reopen(): Promise<Store>
  /** The DLQ audit file this store appends dead letters to (`dlq.path`). */
  dlqPath: string
}

const TOKEN = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const OTHER_TOKEN = '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512'
const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString()
const hex64 = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const

function invoice(overrides: Partial<Invoice> = {}): Invoice {
  return openInvoice({ uuid: randomUUID(), token: TOKEN, createdAt: at(0), ...overrides })
}

function settlement(block: number, logIndex = 0): Settlement {
  return {
    txHash: hex64(block),
    blockNumber: block,
    blockHash: hex64(block + 1_000_000),
    logIndex,
    from: '0x1111111111111111111111111111111111111111',
    to: '0x2222222222222222222222222222222222222222',
    providers: ['primary', 'secondary'],
    detectedAt: at(block),
    settledAt: at(block),
    webhookId: `msg_settled_${block}_${logIndex}`,
  }
}

function settled(block: number, overrides: Partial<Invoice> = {}, delivery: OutboxState = 'delivered'): Invoice {
  const s = settlement(block, overrides.settlement?.logIndex ?? 0)
  return invoice({ status: 'settled', settlement: s, delivery: { webhookId: s.webhookId, status: delivery, attempts: 1, lastError: null, updatedAt: s.settledAt }, createdAt: at(block), ...overrides })
}

function entry(overrides: Partial<OutboxEntry> & { webhookId?: string } = {}): OutboxEntry {
  const webhookId = overrides.webhookId ?? `msg_${randomUUID()}`
  const data: WebhookData = {
    invoice_uuid: null,
    merchant_id: overrides.merchantId ?? 'acme',
    chain_id: 31337,
    token: TOKEN,
    from: '0x1111111111111111111111111111111111111111',
    to: '0x2222222222222222222222222222222222222222',
    amount: '1000',
    tx_hash: hex64(1),
    block_number: 1,
    block_hash: hex64(2),
    log_index: 0,
    confirmations: 1,
    providers: ['primary', 'secondary'],
    detected_at: at(0),
    settled_at: null,
  }
  return { ...queuedOutboxEntry({ webhookId, merchantId: 'acme', invoiceUuid: null, type: 'payment.unmatched', data, at: at(0) }), ...overrides }
}

function chainAt(checkpoint: number): ChainState {
  return { ...initialChainState(31337, 1), checkpoint, blocks: [{ number: checkpoint, hash: hex64(checkpoint) }] }
}

function deadLetter(webhookId: string, deadAt: string): DeadLetter {
  const e = entry({ webhookId, state: 'dead', attempts: 3, lastError: 'HTTP 410' })
  return {
    kind: 'dead_letter',
    webhook_id: webhookId,
    merchant_id: e.merchantId,
    url: 'https://merchant.example/hooks',
    type: e.payload.type,
    payload: e.payload,
    attempts: e.attempts,
    first_attempt_at: at(1),
    last_attempt_at: at(2),
    last_error: e.lastError,
    dead_at: deadAt,
  }
}

const keyOf = (inv: Invoice): OpenInvoiceKey => ({ merchantId: inv.merchantId, token: inv.token, amount: inv.amount })
const ALL: InvoiceListQuery = { status: null, createdAfter: null, createdBefore: null, limit: 100, after: null }
const zeroCounts = (): StoreCounts => ({ invoices: { open: 0, expired: 0, settled: 0 }, outbox: { queued: 0, in_flight: 0, retrying: 0, delivered: 0, dead: 0 }, queueDepth: {} })

/**
 * Registers the contract tests for one backend. `open` gives a fresh, empty store each time;
 * every test closes what it opened.
 */
export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  /** Runs `body` on a fresh store, closing whatever is open at the end (the store, or the one reopened). */
  async function withStore(body: (fixture: StoreUnderTest & { current: () => Store; restart: () => Promise<Store> }) => Promise<void>): Promise<void> {
    const fixture = await open()
    let current = fixture.store
    let closed = false
    try {
      await body({
        ...fixture,
        current: () => current,
        restart: async () => {
          await current.close()
          closed = true
          current = await fixture.reopen()
          closed = false
          return current
        },
      })
    } finally {
      if (!closed) await current.close()
    }
  }

  describe(`store contract: ${name}`, () => {
    it('a new store is empty', async () => {
      await withStore(async ({ store }) => {
        await store.read(async (r) => {
          expect(await r.getChainState()).toBeNull()
          expect(await r.getInvoice(randomUUID())).toBeUndefined()
          expect((await r.openInvoices([{ merchantId: 'acme', token: TOKEN, amount: '1000' }])).size).toBe(0)
          expect((await r.getOutboxEntries(['msg_x'])).size).toBe(0)
          expect(await r.dueOutboxEntries(T0, 10)).toEqual([])
          expect((await r.processedTransfers(['0xabc'])).size).toBe(0)
          expect(await r.listPendingOutbox({ limit: 10 })).toEqual({ entries: [], next: null })
          expect(await r.isReplayRecorded('msg_x')).toBe(false)
          expect(await r.counts(T0)).toEqual(zeroCounts())
        })
        expect(await store.findInvoice(randomUUID())).toBeUndefined()
        expect(await store.listInvoices('acme', ALL, T0)).toEqual({ invoices: [], next: null })
        expect(await store.deadLetters.list()).toEqual([])
        expect(store.availability()).toEqual({ available: true })
      })
    })

    it('a transaction reads its own staged puts, each read as one batch; later puts of a record replace earlier ones', async () => {
      await withStore(async ({ store }) => {
        const committedOpen = invoice({ amount: '500', createdAt: at(1) })
        const committedEntry = entry({ createdAt: at(1) })
        await store.transact((tx) => {
          tx.putInvoice(committedOpen)
          tx.putOutboxEntry(committedEntry)
          tx.putOutboxEntry(entry({ webhookId: 'msg_replayed', state: 'dead', attempts: 3 }))
          tx.putProcessedTransfers('identity-gone', [{ block: 5, invoiceUuid: null }])
        })
        const fresh = invoice({ amount: '500', createdAt: at(0) })
        const due = entry({ createdAt: at(0), merchantId: 'globex' })
        const seen = await store.transact(async (tx) => {
          tx.putChainState(chainAt(10))
          tx.putChainState(chainAt(11)) // the later put wins
          tx.putInvoice({ ...fresh, requestHash: 'first' })
          tx.putInvoice(fresh)
          tx.putInvoice({ ...committedOpen, status: 'settled', settlement: settlement(7) }) // no longer open
          tx.putOutboxEntry(due)
          tx.putOutboxEntry({ ...committedEntry, state: 'delivered', attempts: 1 }) // no longer due
          tx.putProcessedTransfers('identity-new', [{ block: 9, invoiceUuid: fresh.uuid }])
          tx.putProcessedTransfers('identity-gone', []) // a reorg took it back: absent
          tx.putReplayed('msg_replayed')
          return {
            chain: await tx.getChainState(),
            invoice: await tx.getInvoice(fresh.uuid),
            open: await tx.openInvoices([keyOf(fresh)]),
            entries: await tx.getOutboxEntries([due.webhookId, committedEntry.webhookId]),
            due: await tx.dueOutboxEntries(T0, 10),
            pending: await tx.listPendingOutbox({ limit: 10 }),
            processed: await tx.processedTransfers(['identity-new', 'identity-gone']),
            replayed: await tx.isReplayRecorded('msg_replayed'),
            counts: await tx.counts(T0),
          }
        })
        expect(seen.chain?.checkpoint).toBe(11)
        expect(seen.invoice).toEqual(fresh)
        expect([...seen.open]).toEqual([[openInvoiceKey(keyOf(fresh)), [fresh]]])
        expect(seen.entries.get(due.webhookId)).toEqual(due)
        expect(seen.entries.get(committedEntry.webhookId)?.state).toBe('delivered')
        expect(seen.due).toEqual([due])
        expect(seen.pending).toEqual({ entries: [due], next: null })
        expect([...seen.processed]).toEqual([['identity-new', [{ block: 9, invoiceUuid: fresh.uuid }]]])
        expect(seen.replayed).toBe(true)
        expect(seen.counts).toEqual({ invoices: { open: 1, expired: 0, settled: 1 }, outbox: { queued: 1, in_flight: 0, retrying: 0, delivered: 2, dead: 0 }, queueDepth: { globex: 1 } })
        // Committed, the same state is what everyone reads.
        await store.read(async (r) => {
          expect((await r.getChainState())?.checkpoint).toBe(11)
          expect(await r.getInvoice(fresh.uuid)).toEqual(fresh)
          expect([...(await r.openInvoices([keyOf(fresh)]))]).toEqual([[openInvoiceKey(keyOf(fresh)), [fresh]]])
          expect(await r.dueOutboxEntries(T0, 10)).toEqual([due])
          expect([...(await r.processedTransfers(['identity-new', 'identity-gone']))].map(([identity]) => identity)).toEqual(['identity-new'])
          expect(await r.counts(T0)).toEqual(seen.counts)
        })
      })
    })

    it('applies nothing when the transaction function throws, and rethrows its error', async () => {
      await withStore(async ({ store, restart }) => {
        const kept = invoice()
        await store.transact((tx) => {
          tx.putChainState(chainAt(1))
          tx.putInvoice(kept)
        })
        const before = await store.read((r) => r.counts(T0))
        const bug = new Error('consumer bug')
        const lost = invoice()
        await expect(
          store.transact(async (tx) => {
            tx.putChainState(chainAt(2))
            tx.putInvoice(lost)
            tx.putInvoice({ ...kept, status: 'settled', settlement: settlement(3) })
            tx.putOutboxEntry(entry())
            tx.putProcessedTransfers('identity', [{ block: 2, invoiceUuid: lost.uuid }])
            tx.putReplayed('msg_replayed')
            await tx.getInvoice(kept.uuid) // a read between the puts and the throw
            throw bug
          }),
        ).rejects.toBe(bug)
        const check = async (s: Store) => {
          await s.read(async (r) => {
            expect((await r.getChainState())?.checkpoint).toBe(1)
            expect(await r.getInvoice(lost.uuid)).toBeUndefined()
            expect(await r.getInvoice(kept.uuid)).toEqual(kept)
            expect((await r.processedTransfers(['identity'])).size).toBe(0)
            expect(await r.isReplayRecorded('msg_replayed')).toBe(false)
            expect(await r.counts(T0)).toEqual(before)
          })
        }
        await check(store)
        await check(await restart())
      })
    })

    it('keeps every committed put across close and reopen', async () => {
      await withStore(async ({ store, restart }) => {
        const chain = chainAt(42)
        const open1 = invoice({ expiresAt: at(60_000) })
        const paid = settled(7)
        const queued = entry({ merchantId: 'globex' })
        const delivered = entry({ state: 'delivered', attempts: 1 })
        await store.transact((tx) => {
          tx.putChainState(chain)
          tx.putInvoice(open1)
          tx.putInvoice(paid)
          tx.putOutboxEntry(queued)
          tx.putOutboxEntry(delivered)
          tx.putOutboxEntry(entry({ webhookId: 'msg_replayed', state: 'dead', attempts: 3 }))
          tx.putOutboxEntry(entry({ state: 'dead', attempts: 3 }))
          tx.putProcessedTransfers('identity', [{ block: 7, invoiceUuid: paid.uuid }])
          tx.putReplayed('msg_replayed')
        })
        const counts = await store.read((r) => r.counts(T0))
        const again = await restart()
        await again.read(async (r) => {
          expect(await r.getChainState()).toEqual(chain)
          expect(await r.getInvoice(open1.uuid)).toEqual(open1)
          expect(await r.getInvoice(paid.uuid)).toEqual(paid)
          expect((await r.getOutboxEntries([queued.webhookId])).get(queued.webhookId)).toEqual(queued)
          expect([...(await r.processedTransfers(['identity']))]).toEqual([['identity', [{ block: 7, invoiceUuid: paid.uuid }]]])
          expect(await r.isReplayRecorded('msg_replayed')).toBe(true)
          expect(await r.counts(T0)).toEqual(counts)
        })
        expect(counts).toMatchObject({ invoices: { open: 1, settled: 1 }, outbox: { queued: 1, delivered: 2, dead: 1 } })
        expect(await again.findInvoice(paid.uuid)).toEqual(paid)
      })
    })

    it('answers batch reads for many keys at once: open invoices per key oldest first, pending entries and processed transfers that exist', async () => {
      await withStore(async ({ store }) => {
        const a2 = invoice({ amount: '100', createdAt: at(2) })
        const a1 = invoice({ amount: '100', createdAt: at(1) })
        const aTie = invoice({ amount: '100', createdAt: at(1) }) // same age: by uuid
        const aPaid = settled(3, { amount: '100' })
        const b = invoice({ amount: '200' })
        const otherToken = invoice({ amount: '100', token: OTHER_TOKEN })
        const otherMerchant = invoice({ amount: '100', merchantId: 'globex' })
        const queued = entry()
        const dead = entry({ state: 'dead', attempts: 3 })
        await store.transact((tx) => {
          for (const inv of [a2, a1, aTie, aPaid, b, otherToken, otherMerchant]) tx.putInvoice(inv)
          tx.putOutboxEntry(queued)
          tx.putOutboxEntry(dead)
          tx.putProcessedTransfers('i1', [{ block: 1, invoiceUuid: null }])
          tx.putProcessedTransfers('i2', [{ block: 2, invoiceUuid: null }, { block: 2, invoiceUuid: null }])
        })
        await store.read(async (r) => {
          const keyA = keyOf(a1)
          const open = await r.openInvoices([keyA, keyOf(b), { merchantId: 'acme', token: TOKEN, amount: '999' }])
          expect([...open.keys()].sort()).toEqual([openInvoiceKey(keyA), openInvoiceKey(keyOf(b))].sort())
          expect(open.get(openInvoiceKey(keyA))).toEqual([a1, aTie].sort((x, y) => (x.uuid < y.uuid ? -1 : 1)).concat([a2]))
          expect(open.get(openInvoiceKey(keyOf(b)))).toEqual([b])
          const entries = await r.getOutboxEntries([queued.webhookId, dead.webhookId, 'msg_absent'])
          // A final entry has left the hot outbox: a backend need not keep it (lowdb only counts it).
          expect([...entries.keys()]).toEqual([queued.webhookId])
          expect(entries.get(queued.webhookId)).toEqual(queued)
          const processed = await r.processedTransfers(['i1', 'i2', 'i3'])
          expect([...processed.keys()].sort()).toEqual(['i1', 'i2'])
          expect(processed.get('i2')).toHaveLength(2)
        })
      })
    })

    it('due outbox entries: pending ones whose time has come, in the order they were queued (oldest first), at most `limit`, without skipped merchants', async () => {
      await withStore(async ({ store }) => {
        const e3 = entry({ webhookId: 'msg_c', createdAt: at(3), state: 'retrying', attempts: 1, nextAttemptAt: T0 - 1 })
        const e1 = entry({ webhookId: 'msg_a', createdAt: at(1) })
        const e2b = entry({ webhookId: 'msg_b2', createdAt: at(2), state: 'in_flight', attempts: 1 })
        const e2a = entry({ webhookId: 'msg_b1', createdAt: at(2), merchantId: 'globex' })
        const later = entry({ createdAt: at(0), state: 'retrying', attempts: 1, nextAttemptAt: T0 + 60_000 })
        const delivered = entry({ createdAt: at(0), state: 'delivered', attempts: 1 })
        const dead = entry({ createdAt: at(0), state: 'dead', attempts: 5 })
        const fractional = entry({ createdAt: at(4), state: 'retrying', attempts: 1, nextAttemptAt: T0 + 0.25 }) // an injected clock may give fractions
        // Queued oldest first, as the daemon queues them (finals among them), over two transactions.
        await store.transact((tx) => [delivered, later, e1, dead].forEach((e) => tx.putOutboxEntry(e)))
        await store.transact((tx) => [e2a, e2b, e3, fractional].forEach((e) => tx.putOutboxEntry(e)))
        // A retry keeps the entry's place in the queue.
        await store.transact((tx) => tx.putOutboxEntry({ ...e1, attempts: 0 }))
        await store.read(async (r) => {
          expect(await r.dueOutboxEntries(T0, 10)).toEqual([e1, e2a, e2b, e3])
          expect(await r.dueOutboxEntries(T0, 2)).toEqual([e1, e2a])
          expect(await r.dueOutboxEntries(T0, 10, new Set(['globex']))).toEqual([e1, e2b, e3])
          expect(await r.dueOutboxEntries(T0 + 0.5, 10)).toEqual([e1, e2a, e2b, e3, fractional])
          expect(await r.dueOutboxEntries(T0 + 60_000, 10)).toEqual([later, e1, e2a, e2b, e3, fractional])
          expect(await r.dueOutboxEntries(T0, 10, new Set(['acme', 'globex']))).toEqual([])
        })
      })
    })

    it('lists pending outbox entries a page at a time, oldest first, by state and merchant', async () => {
      await withStore(async ({ store }) => {
        const pending = Array.from({ length: 7 }, (_, i) =>
          entry({ webhookId: `msg_${i}`, createdAt: at(i % 3), merchantId: i % 2 === 0 ? 'acme' : 'globex', state: (['queued', 'in_flight', 'retrying'] as const)[i % 3], attempts: i % 3 === 0 ? 0 : 1, nextAttemptAt: T0 + i }),
        )
        const finals = [entry({ state: 'delivered', attempts: 1 }), entry({ state: 'dead', attempts: 1 })]
        await store.transact((tx) => [...pending, ...finals].forEach((e) => tx.putOutboxEntry(e)))
        const oldest = [...pending].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.webhookId < b.webhookId ? -1 : 1))
        const pages = async (query: { states?: ('queued' | 'in_flight' | 'retrying')[]; merchantId?: string }, limit: number) => {
          const seen: OutboxEntry[][] = []
          let after: { createdAt: string; webhookId: string } | undefined
          for (let guard = 0; guard < 20; guard++) {
            const page = await store.read((r) => r.listPendingOutbox({ ...query, limit, ...(after === undefined ? {} : { after }) }))
            seen.push(page.entries)
            if (page.next === null) return seen
            expect(page.next).toEqual({ createdAt: page.entries.at(-1)!.createdAt, webhookId: page.entries.at(-1)!.webhookId })
            after = page.next
          }
          throw new Error('paging did not end')
        }
        const all = await pages({}, 3)
        expect(all.map((p) => p.length)).toEqual([3, 3, 1])
        expect(all.flat()).toEqual(oldest)
        expect((await pages({}, 7)).map((p) => p.length)).toEqual([7]) // a page that ends the list has no next
        expect((await pages({ states: ['queued'] }, 2)).flat()).toEqual(oldest.filter((e) => e.state === 'queued'))
        expect((await pages({ merchantId: 'globex' }, 2)).flat()).toEqual(oldest.filter((e) => e.merchantId === 'globex'))
        expect((await pages({ states: ['in_flight', 'retrying'], merchantId: 'acme' }, 1)).flat()).toEqual(oldest.filter((e) => e.state !== 'queued' && e.merchantId === 'acme'))
      })
    })

    it('counts invoices (an open one past its expiry counts as expired at `nowMs`), outbox entries per state and pending entries per merchant', async () => {
      await withStore(async ({ store }) => {
        await store.transact((tx) => {
          tx.putInvoice(invoice({ expiresAt: null }))
          tx.putInvoice(invoice({ expiresAt: at(1_000) }))
          tx.putInvoice(invoice({ expiresAt: at(5_000) }))
          tx.putInvoice(settled(1))
          tx.putInvoice(settled(2, { expiresAt: at(0) })) // settled stays settled past its expiry
          tx.putOutboxEntry(entry())
          tx.putOutboxEntry(entry({ merchantId: 'globex' }))
          tx.putOutboxEntry(entry({ merchantId: 'globex', state: 'retrying', attempts: 1 }))
          tx.putOutboxEntry(entry({ state: 'in_flight', attempts: 1 }))
          tx.putOutboxEntry(entry({ state: 'delivered', attempts: 1 }))
          tx.putOutboxEntry(entry({ webhookId: 'msg_dead_1', state: 'dead', attempts: 1 }))
          tx.putOutboxEntry(entry({ webhookId: 'msg_dead_2', state: 'dead', attempts: 1 }))
        })
        const outbox = { queued: 2, in_flight: 1, retrying: 1, delivered: 1, dead: 2 }
        expect(await store.read((r) => r.counts(T0))).toEqual({ invoices: { open: 3, expired: 0, settled: 2 }, outbox, queueDepth: { acme: 2, globex: 2 } })
        expect((await store.read((r) => r.counts(T0 + 999.5))).invoices).toEqual({ open: 3, expired: 0, settled: 2 })
        expect((await store.read((r) => r.counts(T0 + 1_000))).invoices).toEqual({ open: 2, expired: 1, settled: 2 })
        expect((await store.read((r) => r.counts(T0 + 10_000))).invoices).toEqual({ open: 1, expired: 2, settled: 2 })
        // An entry that becomes final leaves the pending counts and the queue depth.
        const globex = (await store.read((r) => r.listPendingOutbox({ merchantId: 'globex', limit: 10 }))).entries
        await store.transact((tx) => globex.forEach((e) => tx.putOutboxEntry({ ...e, state: 'delivered', attempts: e.attempts + 1 })))
        expect(await store.read((r) => r.counts(T0))).toEqual({ invoices: { open: 3, expired: 0, settled: 2 }, outbox: { ...outbox, queued: 1, retrying: 0, delivered: 3 }, queueDepth: { acme: 2 } })
        // A replayed dead event counts as delivered.
        await store.transact((tx) => tx.putReplayed('msg_dead_1'))
        expect((await store.read((r) => r.counts(T0))).outbox).toEqual({ ...outbox, queued: 1, retrying: 0, delivered: 4, dead: 1 })
      })
    })

    it('records a replay once: recording it again, in the same or a later transaction, changes nothing', async () => {
      await withStore(async ({ store }) => {
        await store.transact((tx) => tx.putOutboxEntry(entry({ webhookId: 'msg_dead', state: 'dead', attempts: 3 })))
        await store.transact((tx) => {
          tx.putReplayed('msg_dead')
          tx.putReplayed('msg_dead')
        })
        const once = await store.read((r) => r.counts(T0))
        expect(once.outbox).toMatchObject({ delivered: 1, dead: 0 })
        await store.transact(async (tx) => {
          expect(await tx.isReplayRecorded('msg_dead')).toBe(true)
          tx.putReplayed('msg_dead')
        })
        expect(await store.read((r) => r.counts(T0))).toEqual(once)
        expect(await store.read((r) => r.isReplayRecorded('msg_dead'))).toBe(true)
      })
    })

    it('finds invoices and lists a merchant newest first, a page at a time, by status and creation time', async () => {
      await withStore(async ({ store }) => {
        const acme = [
          invoice({ createdAt: at(1) }),
          invoice({ createdAt: at(2), expiresAt: at(2_500) }),
          settled(3),
          invoice({ createdAt: at(4) }),
          invoice({ createdAt: at(4) }), // same instant: by uuid, newest first means descending
          settled(6),
        ]
        const globex = invoice({ merchantId: 'globex', createdAt: at(5) })
        await store.transact((tx) => [...acme, globex].forEach((inv) => tx.putInvoice(inv)))
        for (const inv of [...acme, globex]) expect(await store.findInvoice(inv.uuid)).toEqual(inv)
        const newest = [...acme].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.uuid < b.uuid ? 1 : -1))
        const now = T0 + 3_000
        const everything: Invoice[] = []
        let after: InvoiceListQuery['after'] = null
        for (let guard = 0; guard < 10; guard++) {
          const page = await store.listInvoices('acme', { ...ALL, limit: 2, after }, now)
          everything.push(...page.invoices)
          if (page.next === null) break
          after = page.next
        }
        expect(everything).toEqual(newest)
        expect((await store.listInvoices('acme', { ...ALL, limit: 6 }, now)).next).toBeNull()
        expect((await store.listInvoices('acme', { ...ALL, status: 'settled' }, now)).invoices).toEqual(newest.filter((i) => i.status === 'settled'))
        expect((await store.listInvoices('acme', { ...ALL, status: 'expired' }, now)).invoices).toEqual([acme[1]])
        expect((await store.listInvoices('acme', { ...ALL, status: 'open' }, now)).invoices).toEqual(newest.filter((i) => i.status === 'open' && i !== acme[1]))
        expect((await store.listInvoices('acme', { ...ALL, status: 'open' }, T0)).invoices).toEqual(newest.filter((i) => i.status === 'open'))
        expect((await store.listInvoices('acme', { ...ALL, createdAfter: at(2), createdBefore: at(6) }, now)).invoices).toEqual(newest.filter((i) => i.createdAt > at(2) && i.createdAt < at(6)))
        expect((await store.listInvoices('globex', ALL, now)).invoices).toEqual([globex])
        expect((await store.listInvoices('initech', ALL, now)).invoices).toEqual([])
      })
    })

    it('compacts what the loop no longer needs: processed transfers below the final block go; every invoice is still found, listed and counted', async () => {
      await withStore(async ({ store, restart }) => {
        const old = [settled(10), settled(11, {}, 'dead'), settled(12)]
        const pendingDelivery = settled(13, {}, 'retrying')
        const recent = settled(500)
        const stillOpen = invoice({ createdAt: at(20) })
        await store.transact((tx) => {
          for (const inv of [...old, pendingDelivery, recent, stillOpen]) tx.putInvoice(inv)
          tx.putProcessedTransfers('below', [{ block: 10, invoiceUuid: old[0]!.uuid }])
          tx.putProcessedTransfers('straddling', [{ block: 50, invoiceUuid: null }, { block: 150, invoiceUuid: null }])
          tx.putProcessedTransfers('above', [{ block: 500, invoiceUuid: recent.uuid }])
          tx.putOutboxEntry(entry({ state: 'retrying', attempts: 1 }))
        })
        const counts = await store.read((r) => r.counts(T0))
        const listed = await store.listInvoices('acme', ALL, T0)
        const left = await store.compact(100)
        const all = [...old, pendingDelivery, recent, stillOpen]
        const check = async (s: Store) => {
          const hot = await s.read(async (r) => Promise.all(all.map((inv) => r.getInvoice(inv.uuid))))
          expect(hot.filter((inv) => inv === undefined)).toHaveLength(left) // what left the hot set is what compact reported
          for (const inv of [pendingDelivery, recent, stillOpen]) expect(hot[all.indexOf(inv)]).toEqual(inv) // what the loop still needs stays
          for (const inv of all) expect(await s.findInvoice(inv.uuid)).toEqual(inv)
          expect(await s.listInvoices('acme', ALL, T0)).toEqual(listed)
          expect(await s.read((r) => r.counts(T0))).toEqual(counts)
          expect([...(await s.read((r) => r.processedTransfers(['below', 'straddling', 'above']))).keys()].sort()).toEqual(['above', 'straddling'])
          expect((await s.read((r) => r.openInvoices([keyOf(stillOpen)]))).get(openInvoiceKey(keyOf(stillOpen)))).toEqual([stillOpen])
        }
        await check(store)
        expect(await store.compact(100)).toBe(0) // nothing more to do
        await check(await restart())
      })
    })

    it('runs concurrent transactions as if alone: 20 read-modify-writes of one invoice all count', async () => {
      await withStore(async ({ store }) => {
        const target = invoice({ requestHash: '' })
        await store.transact((tx) => tx.putInvoice(target))
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.transact(async (tx) => {
              const current = (await tx.getInvoice(target.uuid))!
              tx.putInvoice({ ...current, requestHash: `${current.requestHash}${String.fromCharCode(97 + i)}` })
            }),
          ),
        )
        const final = (await store.findInvoice(target.uuid))!
        expect([...final.requestHash].sort().join('')).toBe('abcdefghijklmnopqrst')
      })
    })

    it('a transaction function that runs more than once leaves only its last run: each of 20 appends lands once, each saw a different length', async () => {
      await withStore(async ({ store }) => {
        let runs = 0
        const seenLengths = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.transact(async (tx) => {
              runs++ // the only effect outside `tx`, counting runs
              const current = (await tx.processedTransfers(['identity'])).get('identity') ?? []
              tx.putProcessedTransfers('identity', [...current, { block: i, invoiceUuid: null }])
              tx.putOutboxEntry(entry({ webhookId: `msg_run_${i}` }))
              return current.length
            }),
          ),
        )
        expect([...seenLengths].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
        const transfers = (await store.read((r) => r.processedTransfers(['identity']))).get('identity')!
        expect(transfers.map((t) => t.block).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
        expect((await store.read((r) => r.counts(T0))).outbox.queued).toBe(20)
        expect(runs).toBeGreaterThanOrEqual(20)
      })
    })

    it('dead letters: recorded durably, one per webhook id in the order they died, with their latest replay, and appended to the DLQ file as JSONL', async () => {
      await withStore(async ({ store, restart, dlqPath }) => {
        const a = deadLetter('msg_a', at(1))
        const b = deadLetter('msg_b', at(2))
        const aAgain = { ...deadLetter('msg_a', at(3)), attempts: 4 } // a crash sent it again: recorded twice, counted once, at its later place
        await store.deadLetters.append([a, b])
        await store.deadLetters.append([aAgain])
        await store.deadLetters.markReplayed({ kind: 'replayed', webhook_id: 'msg_b', replayed_at: at(4), status: 200 })
        const expected = [
          { ...b, replayed_at: at(4) },
          { ...aAgain, replayed_at: null },
        ]
        expect(await store.deadLetters.list()).toEqual(expected)
        const lines = (await readFile(dlqPath, 'utf8'))
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as DeadLetterLine)
        expect(lines).toEqual([a, b, aAgain, { kind: 'replayed', webhook_id: 'msg_b', replayed_at: at(4), status: 200 }])
        expect(foldDeadLetters(lines)).toEqual(expected)
        const again = await restart()
        expect(await again.deadLetters.list()).toEqual(expected)
      })
    })

    it('dead letters: two replays never run at once', async () => {
      await withStore(async ({ store }) => {
        const timeline: string[] = []
        let release!: () => void
        const firstHolds = new Promise<void>((resolve) => (release = resolve))
        let entered!: () => void
        const firstEntered = new Promise<void>((resolve) => (entered = resolve))
        const first = store.deadLetters.withReplayLock(async () => {
          timeline.push('first in')
          entered()
          await firstHolds
          timeline.push('first out')
          return 'first'
        })
        await firstEntered
        const second = store.deadLetters
          .withReplayLock(async () => {
            timeline.push('second in')
            return 'second'
          })
          .catch((error: unknown) => error)
        // The second either waits for the first or is refused; give it every chance to (wrongly) start.
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect(timeline).toEqual(['first in'])
        release()
        expect(await first).toBe('first')
        const outcome = await second
        if (outcome instanceof Error) expect(outcome).toBeInstanceOf(SettleProofError)
        else expect(timeline).toEqual(['first in', 'first out', 'second in'])
      })
    })

    it('a closed store refuses transactions and says it is not available', async () => {
      const { store } = await open()
      await store.close()
      expect(store.availability().available).toBe(false)
      await expect(store.transact((tx) => tx.putChainState(chainAt(1)))).rejects.toBeInstanceOf(StoreClosedError)
      await store.close() // closing twice is harmless
    })
  })
}
