import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLowdbStore, readLowdbPendingOutbox } from '../../../src/store/lowdb/lowdb-store.ts'
import { pendingEntry } from '../../support/outbox-entry.ts'

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

describe('lowdb store: the pending outbox read without the writer lock (settleproof outbox list)', () => {
  it('reads what the store holding the lock committed, a page at a time, and the same after a reopen', async () => {
    const path = fresh()
    const dlqPath = `${path}.dlq.jsonl`
    const store = await openLowdbStore({ path, dlqPath })
    await store.transact((tx) => {
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_b', createdAt: at(2), state: 'retrying', attempts: 1, lastError: 'HTTP 503' }))
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_a', createdAt: at(1), merchantId: 'globex' }))
      tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_c', createdAt: at(3), state: 'in_flight', attempts: 1 }))
    })
    await store.transact((tx) => tx.putOutboxEntry(pendingEntry({ webhookId: 'msg_c', createdAt: at(3), state: 'delivered', attempts: 1 })))
    const ids = (page: { entries: { webhookId: string }[] }) => page.entries.map((e) => e.webhookId)

    // While the daemon holds the lock, `outbox list` reads the files.
    const unlocked = await readLowdbPendingOutbox(path)
    expect(ids(unlocked!.page({ limit: 10 }))).toEqual(['msg_a', 'msg_b'])
    expect(unlocked!.page({ limit: 10, states: ['retrying'] }).entries).toMatchObject([{ webhookId: 'msg_b', attempts: 1, lastError: 'HTTP 503' }])
    const first = unlocked!.page({ limit: 1 })
    expect(first).toMatchObject({ entries: [{ webhookId: 'msg_a' }], next: { createdAt: at(1), webhookId: 'msg_a' } })
    expect(ids(unlocked!.page({ limit: 1, after: first.next! }))).toEqual(['msg_b'])
    expect(ids(await store.read((r) => r.listPendingOutbox({ limit: 10 })))).toEqual(['msg_a', 'msg_b'])
    await store.close()
    const again = await openLowdbStore({ path, dlqPath })
    expect(ids(await again.read((r) => r.listPendingOutbox({ limit: 10 })))).toEqual(['msg_a', 'msg_b'])
    await again.close()
  })

  it('an absent store reads as none', async () => {
    expect(await readLowdbPendingOutbox(join(dir, 'never-written.json'))).toBeNull()
  })
})
