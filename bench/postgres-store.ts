// node bench/postgres-store.ts: the PostgreSQL store alone, on a throwaway cluster (Debian's
// postgresql, test/support/postgres.ts). Measures (1) one range transaction of N settlements
// (batch reads, then invoice + outbox + processed transfer per settlement, and the checkpoint):
// statements sent and time; (2) the hot reads with 1,000 and with 100,000 settled, delivered
// invoices in history. Prints a markdown table; median of BENCH_REPETITIONS runs (default 5).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { initialChainState } from '../src/chain/chain-state.ts'
import { queuedOutboxEntry } from '../src/delivery/outbox-entry.ts'
import { silentLogger } from '../src/ops/logger.ts'
import type { Invoice } from '../src/settlement/invoice.ts'
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts'
import type { Store } from '../src/store/store.ts'
import { openInvoice } from '../test/support/invoice.ts'
import { createTestDatabase, startPostgresCluster } from '../test/support/postgres.ts'

const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 5)
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
let serial = 0

/** Counts the statements the driver sends while `fn` runs. */
async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const original = pg.Client.prototype.query
  let statements = 0
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements++
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof original
  try {
    return { result: await fn(), statements }
  } finally {
    pg.Client.prototype.query = original
  }
}

function openInvoices(n: number): Invoice[] {
  return Array.from({ length: n }, () => openInvoice({ uuid: crypto.randomUUID(), amount: String(++serial), createdAt: new Date(Date.UTC(2030, 0, 1) + serial).toISOString() }))
}

/** One range: the reads settlement makes, then its puts; `delivered` writes the outcome as final (history). */
async function settleRange(store: Store, invoices: Invoice[], delivered = false): Promise<void> {
  await store.transact(async (tx) => {
    const identities = invoices.map((inv) => `identity-${inv.uuid}`)
    await tx.processedTransfers(identities)
    const open = await tx.openInvoices(invoices.map((inv) => ({ merchantId: inv.merchantId, token: inv.token, amount: inv.amount })))
    await tx.getOutboxEntries(invoices.map((inv) => `msg_${inv.uuid}`))
    const checkpoint = ++serial
    invoices.forEach((inv, i) => {
      const current = open.get(`${inv.merchantId}|${inv.token}|${inv.amount}`)?.[0] ?? inv
      const txHash = `0x${(++serial).toString(16).padStart(64, '0')}` as const
      const webhookId = `msg_${inv.uuid}`
      tx.putInvoice({ ...current, status: 'settled', settlement: { txHash, blockNumber: checkpoint, blockHash: txHash, logIndex: i, from: inv.token, to: inv.token, providers: ['a', 'b'], detectedAt: inv.createdAt, settledAt: inv.createdAt, webhookId } })
      const entry = queuedOutboxEntry({ webhookId, merchantId: inv.merchantId, invoiceUuid: inv.uuid, type: 'invoice.settled', at: inv.createdAt, data: {} as never })
      tx.putOutboxEntry(delivered ? { ...entry, state: 'delivered', attempts: 1 } : entry)
      tx.putProcessedTransfers(identities[i]!, [{ block: checkpoint, invoiceUuid: inv.uuid }])
    })
    tx.putChainState({ ...initialChainState(31337, 1), checkpoint })
  })
}

const cluster = await startPostgresCluster()
const dir = await mkdtemp(join(tmpdir(), 'settleproof-bench-pg-'))
const rows: string[] = ['| measure | statements | median ms |', '|---|---:|---:|']
try {
  const db = await createTestDatabase(cluster)
  const store = await openPostgresStore({ url: db.url, poolSize: 4, dlqPath: join(dir, 'dlq.jsonl'), logger: silentLogger() })
  for (const n of [1, 100, 1_000]) {
    const times: number[] = []
    let statements = 0
    for (let r = 0; r < REPETITIONS; r++) {
      const invoices = openInvoices(n)
      await store.transact((tx) => invoices.forEach((inv) => tx.putInvoice(inv)))
      const started = performance.now()
      statements = (await counted(() => settleRange(store, invoices))).statements
      times.push(performance.now() - started)
    }
    rows.push(`| one range transaction of ${n.toLocaleString('en')} settlement(s) | ${statements} | ${median(times).toFixed(1)} |`)
  }
  for (const history of [1_000, 100_000]) {
    const hdb = await createTestDatabase(cluster)
    const h = await openPostgresStore({ url: hdb.url, poolSize: 4, dlqPath: join(dir, 'dlq-h.jsonl'), logger: silentLogger() })
    for (let done = 0; done < history; done += 1_000) {
      const invoices = openInvoices(1_000)
      await h.transact((tx) => invoices.forEach((inv) => tx.putInvoice(inv)))
      await settleRange(h, invoices, true)
    }
    const pending = openInvoices(100)
    await h.transact((tx) => pending.forEach((inv) => tx.putInvoice(inv)))
    await settleRange(h, pending.slice(0, 50)) // 50 queued events
    await hdb.sql('VACUUM ANALYZE')
    const measure = async (label: string, fn: () => Promise<unknown>) => {
      const times: number[] = []
      for (let r = 0; r < REPETITIONS * 4; r++) {
        const started = performance.now()
        await fn()
        times.push(performance.now() - started)
      }
      rows.push(`| ${label}, ${history.toLocaleString('en')} settled in history | 1 | ${median(times).toFixed(2)} |`)
    }
    await measure('dueOutboxEntries(limit 100)', () => h.read((r) => r.dueOutboxEntries(Date.now(), 100)))
    await measure('openInvoices(50 keys)', () => h.read((r) => r.openInvoices(pending.slice(50).map((inv) => ({ merchantId: inv.merchantId, token: inv.token, amount: inv.amount })))))
    await measure('counts()', () => h.read((r) => r.counts()))
    await measure('listInvoices(limit 20)', () => h.listInvoices('acme', { status: null, createdAfter: null, createdBefore: null, limit: 20, after: null }, Date.now()))
    await h.close()
  }
  await store.close()
  console.log(rows.join('\n'))
} finally {
  await cluster.destroy()
  await rm(dir, { recursive: true, force: true })
}
