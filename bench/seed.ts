import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { Config } from '../src/config/schema.ts'
import { queuedOutboxEntry } from '../src/delivery/outbox-entry.ts'
import { webhookId } from '../src/delivery/webhook-id.ts'
import { silentLogger } from '../src/ops/logger.ts'
import type { Invoice } from '../src/settlement/invoice.ts'
import { openStore } from '../src/store/open-store.ts'
import type { Payment } from './chain.ts'

/**
 * Records per seeding transaction. Seeding goes through the store's own transactions on both
 * backends; on PostgreSQL each transaction writes its puts set-based (one INSERT … SELECT FROM
 * jsonb_array_elements per table), so a batch costs a few round trips whatever its size.
 */
const SEED_BATCH = 5_000

/** Puts one open invoice per payment into a fresh store (setup, not timed). */
export async function seedInvoices(config: Config, payments: readonly Payment[], token: `0x${string}`): Promise<void> {
  const store = await openStore(config, { logger: silentLogger() })
  const createdAt = new Date(Date.now() - 60_000).toISOString()
  for (let i = 0; i < payments.length; i += SEED_BATCH) {
    await store.transact((tx) => {
      for (const p of payments.slice(i, i + SEED_BATCH)) {
        const invoice: Invoice = { uuid: randomUUID(), merchantId: p.merchant, token, amount: p.amount, receiveAddress: null, payer: null, expiresAt: null, createdAt, status: 'open', requestHash: '', settlement: null, delivery: null, reverted: [] }
        tx.putInvoice(invoice)
      }
    })
  }
  await store.close()
  await analyzePostgres(config)
}

/**
 * On PostgreSQL, `VACUUM (ANALYZE)` the tables just seeded, as autovacuum keeps a database that
 * has run for a while: the planner knows the tables' sizes, and no autovacuum of the seeded
 * rows starts in the middle of a measurement. The bench's own SQL, as the store's role (it owns
 * the tables). Nothing on lowdb.
 */
async function analyzePostgres(config: Config): Promise<void> {
  if (config.storage.driver !== 'postgres') return
  const client = new pg.Client({ connectionString: config.storage.url })
  await client.connect()
  try {
    await client.query('VACUUM (ANALYZE) invoices, outbox, processed_transfers')
  } finally {
    await client.end()
  }
}

/**
 * `count` settled invoices whose webhook was delivered, as a daemon that has run for a long
 * time holds them: each invoice with its delivered outbox event (the whole receipt, as sent),
 * then compacted (lowdb: into the archive; PostgreSQL: the rows stay, outside every partial
 * index). Setup, not timed.
 * @returns how long seeding took (ms).
 */
export async function seedHistory(config: Config, count: number, token: `0x${string}`): Promise<number> {
  const started = performance.now()
  const store = await openStore(config, { logger: silentLogger() })
  const at = new Date(Date.now() - 86_400_000).toISOString()
  for (let i = 0; i < count; i += SEED_BATCH) {
    await store.transact((tx) => {
      for (let n = i; n < Math.min(count, i + SEED_BATCH); n++) {
        const uuid = randomUUID()
        const merchantId = n % 2 === 0 ? 'acme' : 'globex'
        const amount = String(900_000_000 + n)
        const txHash = `0x${n.toString(16).padStart(64, '0')}` as const
        const id = webhookId('settled', uuid, txHash)
        tx.putInvoice({
          uuid,
          merchantId,
          token,
          amount,
          receiveAddress: null,
          payer: null,
          expiresAt: null,
          createdAt: at,
          status: 'settled',
          requestHash: '',
          settlement: { txHash, blockNumber: 1, blockHash: txHash, logIndex: 0, from: token, to: token, providers: ['primary', 'secondary'], detectedAt: at, settledAt: at, webhookId: id },
          delivery: { webhookId: id, status: 'delivered', attempts: 1, lastError: null, updatedAt: at },
          reverted: [],
        })
        const data = { invoice_uuid: uuid, merchant_id: merchantId, chain_id: config.chain.id, token, from: token, to: token, amount, tx_hash: txHash, block_number: 1, block_hash: txHash, log_index: 0, confirmations: 1, providers: ['primary', 'secondary'], detected_at: at, settled_at: at }
        const queued = queuedOutboxEntry({ webhookId: id, merchantId, invoiceUuid: uuid, type: 'invoice.settled', data, at })
        tx.putOutboxEntry({ ...queued, state: 'delivered', attempts: 1, firstAttemptAt: at, lastAttemptAt: at })
      }
    })
  }
  await store.compact(Number.MAX_SAFE_INTEGER)
  await store.close()
  await analyzePostgres(config)
  return performance.now() - started
}
