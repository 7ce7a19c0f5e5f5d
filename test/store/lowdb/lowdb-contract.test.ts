// The store contract (test/store/store-contract.ts) on the embedded lowdb backend: real files in
// a temporary folder, opened and reopened as a restarted process would. Nothing is mocked.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { openLowdbStore } from '../../../src/store/lowdb/lowdb-store.ts'
import { describeStoreContract } from '../store-contract.ts'

let dir: string
let stores = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-lowdb-contract-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describeStoreContract('lowdb', async () => {
  const n = ++stores
  const parameters = { path: join(dir, `store-${n}`, 'settleproof.json'), dlqPath: join(dir, `store-${n}`, 'dlq.jsonl') }
  return { store: await openLowdbStore(parameters), reopen: () => openLowdbStore(parameters), dlqPath: parameters.dlqPath }
})
