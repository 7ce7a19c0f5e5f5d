import { randomUUID } from 'node:crypto'
import type { Config } from '../src/config/schema.ts'
import { silentLogger } from '../src/ops/logger.ts'
import type { Invoice } from '../src/settlement/invoice.ts'
import { openStore } from '../src/store/open-store.ts'
import type { Payment } from './chain.ts'

/** Puts one open invoice per payment into a fresh store (setup, not timed). */
export async function seedInvoices(config: Config, payments: readonly Payment[], token: `0x${string}`): Promise<void> {
  const store = await openStore(config, { logger: silentLogger() })
  const createdAt = new Date(Date.now() - 60_000).toISOString()
  for (let i = 0; i < payments.length; i += 5_000) {
    await store.transact((tx) => {
      for (const p of payments.slice(i, i + 5_000)) {
        const invoice: Invoice = { uuid: randomUUID(), merchantId: p.merchant, token, amount: p.amount, receiveAddress: null, payer: null, expiresAt: null, createdAt, status: 'open', requestHash: '', settlement: null, delivery: null, reverted: [] }
        tx.putInvoice(invoice)
      }
    })
  }
  await store.close()
}


/**
 * `count` settled and delivered invoices, as a daemon that has run for a long time holds
 * them: compacted into the archive (setup, not timed).
 */
export async function seedHistory(config: Config, count: number, token: `0x${string}`): Promise<void> {
  const store = await openStore(config, { logger: silentLogger() })
  const at = new Date(Date.now() - 86_400_000).toISOString()
  for (let i = 0; i < count; i += 5_000) {
    await store.transact((tx) => {
      for (let n = i; n < Math.min(count, i + 5_000); n++) {
        const txHash = `0x${n.toString(16).padStart(64, '0')}` as const
        const webhookId = `msg_history_${n}`
        tx.putInvoice({
          uuid: randomUUID(),
          merchantId: n % 2 === 0 ? 'acme' : 'globex',
          token,
          amount: String(900_000_000 + n),
          receiveAddress: null,
          payer: null,
          expiresAt: null,
          createdAt: at,
          status: 'settled',
          requestHash: '',
          settlement: { txHash, blockNumber: 1, blockHash: txHash, logIndex: 0, from: token, to: token, providers: ['primary', 'secondary'], detectedAt: at, settledAt: at, webhookId },
          delivery: { webhookId, status: 'delivered', attempts: 1, lastError: null, updatedAt: at },
          reverted: [],
        })
      }
    })
  }
  await store.compact(Number.MAX_SAFE_INTEGER)
  await store.close()
}
