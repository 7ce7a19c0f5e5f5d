import { randomUUID } from 'node:crypto'
import type { Invoice } from '../src/settlement/invoice.ts'
import { openLowdbStore } from '../src/store/lowdb-store.ts'
import type { Payment } from './chain.ts'

/** Puts one open invoice per payment into a fresh store (setup, not timed). */
export async function seedInvoices(path: string, payments: readonly Payment[], token: `0x${string}`): Promise<void> {
  const store = await openLowdbStore({ path })
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

