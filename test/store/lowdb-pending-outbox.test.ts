import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLowdbStore, readLowdbPendingOutbox } from '../../src/store/lowdb-store.ts'
import { pendingEntry } from '../support/outbox-entry.ts'

let dir: string
let count = 0
const fresh = () => join(dir, `store-${++count}.json`)
const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-pending-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('lowdb store: listPendingOutbox', () => {
  it('lists committed pending entries oldest first, drops the ones that became final, and reads the same without the lock and after a reopen', async () => {
    const path = fresh()
    const store = await openLowdbStore({ path })
    await store.transact((tx) => {
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_b', createdAt: at(2), state: 'retrying', attempts: 1, lastError: 'HTTP 503' }))
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_a', createdAt: at(1), merchantId: 'globex' }))
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_c', createdAt: at(3), state: 'in_flight', attempts: 1 }))
    })
    await store.transact((tx) => tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_c', createdAt: at(3), state: 'delivered', attempts: 1 })))
    const ids = (page: { entries: { webhookId: string }[] }) => page.entries.map((e) => e.webhookId)

    expect(ids(store.read((r) => r.listPendingOutbox({ limit: 10 })))).toEqual(['msg_a', 'msg_b'])
    expect(store.read((r) => r.listPendingOutbox({ limit: 10, states: ['retrying'] })).entries).toMatchObject([{ webhookId: 'msg_b', attempts: 1, lastError: 'HTTP 503' }])
    expect(ids(store.read((r) => r.listPendingOutbox({ limit: 10, merchantId: 'globex' })))).toEqual(['msg_a'])
    const first = store.read((r) => r.listPendingOutbox({ limit: 1 }))
    expect(first).toMatchObject({ entries: [{ webhookId: 'msg_a' }], next: { createdAt: at(1), webhookId: 'msg_a' } })
    expect(ids(store.read((r) => r.listPendingOutbox({ limit: 1, after: first.next! })))).toEqual(['msg_b'])

    // While the daemon holds the lock, `outbox list` reads the files.
    expect(ids(await readLowdbPendingOutbox(path, { limit: 10 }))).toEqual(['msg_a', 'msg_b'])
    await store.close()
    const again = await openLowdbStore({ path })
    expect(ids(again.read((r) => r.listPendingOutbox({ limit: 10 })))).toEqual(['msg_a', 'msg_b'])
    await again.close()
  })

  it('inside a transaction, sees that transaction\'s own puts: a new entry listed, one made final gone', async () => {
    const store = await openLowdbStore({ path: fresh() })
    await store.transact((tx) => tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_old', createdAt: at(1) })))
    const seen = await store.transact((tx) => {
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_old', createdAt: at(1), state: 'dead', attempts: 8 }))
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_new', createdAt: at(2) }))
      return tx.listPendingOutbox({ limit: 10 }).entries.map((e) => e.webhookId)
    })
    expect(seen).toEqual(['msg_new'])
    expect(store.read((r) => r.listPendingOutbox({ limit: 10 })).entries.map((e) => e.webhookId)).toEqual(['msg_new'])
    await store.close()
  })

  it('an absent store has nothing pending', async () => {
    expect(await readLowdbPendingOutbox(join(dir, 'never-written.json'), { limit: 10 })).toEqual({ entries: [], next: null })
  })
})
