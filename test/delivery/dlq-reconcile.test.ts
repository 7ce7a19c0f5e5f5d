import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createDlqReconciler, type RecordedReplay } from '../../src/delivery/dlq-reconcile.ts'
import { openLowdbStore } from '../../src/store/lowdb/lowdb-store.ts'
import type { Store } from '../../src/store/store.ts'
import { testDeadLetter, testReplayMark } from '../support/dead-letter.ts'
import { openInvoice } from '../support/invoice.ts'
import { lowdbFiles } from '../support/lowdb-files.ts'
import { retryingStore } from '../support/retrying-store.ts'

let dir: string
let store: Store

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-reconcile-'))
  store = await openLowdbStore(lowdbFiles(join(dir, 'store.json')))
})
afterEach(async () => {
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

it('records each replay made through the dead letters once, marks its invoice delivered, and needs no transaction when nothing is new (also run twice per transaction)', async () => {
  const letter = testDeadLetter('wh_a', '2030-01-01T01:00:00.000Z')
  const invoiceUuid = letter.payload.data.invoice_uuid!
  await store.transact((tx) => {
    tx.putInvoice(openInvoice({ uuid: invoiceUuid, merchantId: 'm1', status: 'settled', delivery: { webhookId: 'wh_a', status: 'dead', attempts: 8, lastError: 'HTTP 500', updatedAt: letter.dead_at } }))
  })
  const retrying = retryingStore(store)
  const reconciler = createDlqReconciler({ deadLetters: store.deadLetters, store: retrying })
  const recorded: RecordedReplay[] = []
  reconciler.onRecorded((replay) => recorded.push(replay))
  await store.deadLetters.append([letter, testDeadLetter('wh_b', '2030-01-01T02:00:00.000Z', { payload: { ...letter.payload, data: { ...letter.payload.data, invoice_uuid: null } } })])
  expect(await reconciler.reconcile()).toEqual([])
  expect(retrying.runs).toBe(0)

  await store.deadLetters.markReplayed(testReplayMark('wh_a', '2030-01-02T00:00:00.000Z'))
  expect(await reconciler.reconcile()).toEqual([{ webhookId: 'wh_a', merchantId: 'm1', invoiceUuid, type: 'invoice.settled', replayedAt: '2030-01-02T00:00:00.000Z' }])
  expect(recorded.map((r) => r.webhookId)).toEqual(['wh_a'])
  expect((await store.findInvoice(invoiceUuid))?.delivery).toMatchObject({ status: 'delivered', lastError: 'dead-lettered, then replayed at 2030-01-02T00:00:00.000Z' })
  expect(await store.read((r) => r.isReplayRecorded('wh_a'))).toBe(true)
  const runs = retrying.runs

  // Nothing new: no transaction. A new replay: only it.
  expect(await reconciler.reconcile()).toEqual([])
  expect(retrying.runs).toBe(runs)
  await store.deadLetters.markReplayed(testReplayMark('wh_b', '2030-01-02T00:00:01.000Z'))
  expect((await reconciler.reconcile()).map((r) => r.webhookId)).toEqual(['wh_b'])
  expect(recorded.map((r) => r.webhookId)).toEqual(['wh_a', 'wh_b'])

  // A daemon started later (a new reconciler) finds both recorded already.
  const restarted = createDlqReconciler({ deadLetters: store.deadLetters, store })
  expect(await restarted.reconcile()).toEqual([])
})
