import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ChainEvent } from '../../src/chain/chain-reader.ts'
import { transferIdentity, type AcceptedLog } from '../../src/chain/log.ts'
import type { Config } from '../../src/config/schema.ts'
import { webhookId } from '../../src/delivery/webhook-id.ts'
import { queuedOutboxEntry } from '../../src/delivery/outbox-entry.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { createSettlementHandler, type SettlementOutcome } from '../../src/settlement/settlement-handler.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { Store, StoreTx } from '../../src/store/store.ts'
import { testConfig } from '../support/config.ts'
import { openInvoice } from '../support/invoice.ts'
import { retryingStore } from '../support/retrying-store.ts'
import { MERCHANT_ADDRESS, TEST_TOKEN, transferLog } from '../support/transfer-log.ts'

let dir: string
let config: Config
let store: Store

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-settlement-'))
  config = testConfig({ chainId: 31337, providerUrls: ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'], token: TEST_TOKEN, receiveAddresses: [MERCHANT_ADDRESS], storagePath: join(dir, 'store.json'), overrides: { dlq: { path: join(dir, 'dlq.jsonl') } } })
  store = await openStore(config, { logger: silentLogger() })
})
afterEach(async () => {
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

const invoice = (n: number) => openInvoice({ uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, token: TEST_TOKEN, amount: String(1_000 + n), createdAt: `2030-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z` })
const logsEvent = (logs: AcceptedLog[]): ChainEvent => ({ type: 'logs', fromBlock: 10, toBlock: 20, logs, head: 20 })

/** A transaction whose reads are counted by method: what a networked backend pays in round trips. */
function countingTx(tx: StoreTx, reads: Map<string, number>): StoreTx {
  return new Proxy(tx, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown
      if (typeof value !== 'function' || String(name).startsWith('put')) return value
      return (...args: unknown[]) => {
        reads.set(String(name), (reads.get(String(name)) ?? 0) + 1)
        return (value as (...a: unknown[]) => unknown)(...args)
      }
    },
  })
}

/** Runs the handler in one transaction of `on`, as the reader does, and its after-commit function once committed. */
async function handle(on: Store, handler: ReturnType<typeof createSettlementHandler>['handler'], event: ChainEvent, reads = new Map<string, number>()) {
  const after = await on.transact((tx) => handler(event, countingTx(tx, reads)))
  after?.()
  return reads
}

describe('the settlement handler on the store seam', () => {
  it('reads a range in a fixed number of batch reads, whatever its number of logs', async () => {
    const invoices = Array.from({ length: 60 }, (_, i) => invoice(i))
    await store.transact((tx) => invoices.forEach((inv) => tx.putInvoice(inv)))
    const settlement = createSettlementHandler({ config })
    const outcomes: SettlementOutcome[] = []
    settlement.onOutcome((o) => outcomes.push(o))
    // 60 payments of the 60 invoices, 20 unmatched amounts, and 20 transfers to nobody.
    const logs = [
      ...invoices.map((inv, i) => transferLog({ tx: i, value: Number(inv.amount), logIndex: i })),
      ...Array.from({ length: 20 }, (_, i) => transferLog({ tx: 100 + i, value: 7, logIndex: 100 + i })),
      ...Array.from({ length: 20 }, (_, i) => transferLog({ tx: 200 + i, value: 1_001, logIndex: 200 + i, to: '0x90f79bf6eb2c4f870365e785982e1f101e93b906' })),
    ]
    const reads = await handle(store, settlement.handler, logsEvent(logs))
    expect(Object.fromEntries(reads)).toEqual({ processedTransfers: 1, openInvoices: 1, getOutboxEntries: 1 })
    expect(outcomes.filter((o) => o.kind === 'settled')).toHaveLength(60)
    expect(outcomes.filter((o) => o.kind === 'unmatched')).toHaveLength(20)
    const stored = await store.read((r) => Promise.all(invoices.map((inv) => r.getInvoice(inv.uuid))))
    expect(stored.every((inv) => inv?.status === 'settled')).toBe(true)
    // Read again (a restart re-reads the range): every transfer is recognised, in as many reads.
    const again = await handle(store, settlement.handler, logsEvent(logs))
    expect(Object.fromEntries(again)).toEqual({ processedTransfers: 1, openInvoices: 1 })
    expect(outcomes.filter((o) => o.kind === 'duplicate')).toHaveLength(80)
  })

  it('a settlement whose notification the outbox holds already is not made again, and the payment after it is decided knowing that', async () => {
    const [first, second] = [invoice(1), { ...invoice(2), amount: invoice(1).amount }]
    const paid = transferLog({ tx: 1, value: 1_001, logIndex: 0 })
    const next = transferLog({ tx: 2, value: 1_001, logIndex: 1 })
    const existing = webhookId('settled', first.uuid, paid.txHash)
    await store.transact((tx) => {
      tx.putInvoice(first)
      tx.putInvoice(second)
      // The outbox holds this settlement's notification, although no processed record says so.
      tx.putOutboxEntry(queuedOutboxEntry({ webhookId: existing, merchantId: 'acme', invoiceUuid: first.uuid, type: 'invoice.settled', data: { invoice_uuid: first.uuid, merchant_id: 'acme', chain_id: 31337, token: TEST_TOKEN, from: paid.from, to: paid.to, amount: paid.value, tx_hash: paid.txHash, block_number: 10, block_hash: paid.blockHash, log_index: 0, confirmations: 1, providers: [], detected_at: 'x', settled_at: 'x' }, at: '2030-01-01T00:00:00.000Z' }))
    })
    const settlement = createSettlementHandler({ config })
    const outcomes: SettlementOutcome[] = []
    settlement.onOutcome((o) => outcomes.push(o))
    const reads = await handle(store, settlement.handler, logsEvent([paid, next]))
    expect(outcomes.map((o) => o.kind)).toEqual(['duplicate', 'settled'])
    expect(outcomes[1]).toMatchObject({ invoiceUuid: first.uuid, webhookId: webhookId('settled', first.uuid, next.txHash) })
    // Proposed, found, decided again, proposed, not found: the fixed point.
    expect(reads.get('getOutboxEntries')).toBe(2)
    const entries = await store.read((r) => r.getOutboxEntries([existing, webhookId('settled', first.uuid, next.txHash), webhookId('settled', second.uuid, next.txHash)]))
    expect([...entries.keys()]).toEqual([existing, webhookId('settled', first.uuid, next.txHash)])
  })

  it('run twice by a retried transaction (as PostgreSQL retries one), settles once and reports once', async () => {
    const invoices = [invoice(1), invoice(2)]
    await store.transact((tx) => invoices.forEach((inv) => tx.putInvoice(inv)))
    const retrying = retryingStore(store)
    let wakes = 0
    const settlement = createSettlementHandler({ config, onNotificationsQueued: () => wakes++ })
    const outcomes: SettlementOutcome[] = []
    settlement.onOutcome((o) => outcomes.push(o))
    const logs = [transferLog({ tx: 1, value: 1_001, logIndex: 0 }), transferLog({ tx: 2, value: 1_002, logIndex: 1 }), transferLog({ tx: 3, value: 5, logIndex: 2 })]
    await handle(retrying, settlement.handler, logsEvent(logs))
    expect(retrying.runs).toBe(2)
    expect(outcomes.map((o) => o.kind)).toEqual(['settled', 'settled', 'unmatched'])
    expect(wakes).toBe(1)
    const counts = await store.read((r) => r.counts())
    expect(counts.outbox.queued).toBe(3)
    expect(counts.invoices).toMatchObject({ open: 0, settled: 2 })
    // The reorg that takes the payments back, retried too: reverted once each.
    await handle(retrying, settlement.handler, { type: 'reorg', forkBlock: 9, removed: logs })
    expect(outcomes.slice(3).map((o) => o.kind)).toEqual(['reverted', 'reverted'])
    expect((await store.read((r) => r.counts())).invoices).toMatchObject({ open: 2, settled: 0 })
    expect((await store.read((r) => r.processedTransfers(logs.map(transferIdentity)))).size).toBe(0)
  })
})
