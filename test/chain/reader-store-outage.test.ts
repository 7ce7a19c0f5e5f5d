import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { logFingerprint } from '../../src/chain/log.ts'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import type { Store } from '../../src/store/store.ts'
import { createTestDatabase } from '../support/postgres.ts'
import { acceptedLogs, readUntilCaughtUp, startChainFixture, startReader, type ChainFixture, type ReaderUnderTest } from '../support/reader-harness.ts'

// The reader when its store goes away (SPEC §9: not fatal; what was not committed is read
// again, what was is not handed on twice). Real: anvil and a deployed ERC-20, three HTTP
// providers, a database in the run's real PostgreSQL cluster, its connections ended with
// pg_terminate_backend. The one thing simulated is a COMMIT whose acknowledgement is lost (the
// database committed, the connection broke before it said so): no server does that on demand,
// so a wrapper over the real store commits and then reports the store unavailable.

let chain: ChainFixture
let open: ReaderUnderTest[] = []

beforeAll(async () => {
  chain = await startChainFixture()
})
afterAll(async () => {
  await chain.close()
})
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()))
  open = []
})

async function reader(wrapStore?: (store: Store) => Store) {
  const db = await createTestDatabase()
  const r = await startReader(chain, { storage: { driver: 'postgres', url: db.url } }, 'unused.json', wrapStore)
  open.push(r)
  // Start after what earlier tests paid: each reader sees only its own transfers.
  await readUntilCaughtUp(r.reader)
  return { r, db }
}

const pay = (amount: bigint) => chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, amount)

it('every connection ended while the database refuses new ones: the round ends store_unavailable (no throw, no skipped block), and the same range is read and committed once it is back', async () => {
  const { r, db } = await reader()
  const before = r.reader.status().checkpoint
  const tx = await pay(21n)
  await db.refuseConnections(true)
  try {
    await db.terminateSessions()
    const outcome = await r.reader.runRound()
    expect(outcome).toMatchObject({ kind: 'store_unavailable', reason: expect.stringMatching(/^store unavailable: /) })
    // Still out: the next round says so again (its position is read again first, and fails).
    expect(await r.reader.runRound()).toMatchObject({ kind: 'store_unavailable' })
    expect(r.reader.status().checkpoint).toBe(before)
  } finally {
    await db.refuseConnections(false)
  }
  await readUntilCaughtUp(r.reader)
  expect(acceptedLogs(r.events).filter((log) => log.txHash === tx)).toHaveLength(1)
  const stored = (await r.store.read((s) => s.getChainState()))!
  expect(stored.checkpoint).toBeGreaterThan(before)
  expect(r.reader.status().checkpoint).toBe(stored.checkpoint)
})

it('a commit whose acknowledgement was lost: the reader reads its position again and goes on from what the store holds, never re-reading the committed range into the chain state twice', async () => {
  let loseNextAck = false
  const losingAcks = (store: Store): Store =>
    new Proxy(store, {
      get(target, key) {
        if (key !== 'transact') {
          const value: unknown = Reflect.get(target, key)
          return typeof value === 'function' ? value.bind(target) : value
        }
        return async (fn: Parameters<Store['transact']>[0]) => {
          const result = await target.transact(fn)
          if (!loseNextAck) return result
          loseNextAck = false
          throw new StoreUnavailableError('the connection was cut')
        }
      },
    })
  const { r } = await reader(losingAcks)
  const before = r.reader.status().checkpoint
  const tx = await pay(22n)
  loseNextAck = true
  expect(await r.reader.runRound()).toMatchObject({ kind: 'store_unavailable' })
  // The range was committed; the reader does not know it yet.
  const committed = (await r.store.read((s) => s.getChainState()))!
  expect(committed.checkpoint).toBeGreaterThan(before)
  expect(r.reader.status().checkpoint).toBe(before)

  const next = await r.reader.runRound()
  // It went on from the store's checkpoint: the committed range was not read again.
  if (next.kind === 'advanced') expect(next.fromBlock).toBe(committed.checkpoint + 1)
  else expect(next.kind).toBe('idle')
  expect(r.reader.status().checkpoint).toBe((await r.store.read((s) => s.getChainState()))!.checkpoint)
  const recent = (await r.store.read((s) => s.getChainState()))!.recentLogs
  expect(recent.filter((log) => log.txHash === tx)).toHaveLength(1)
  expect(new Set(recent.map(logFingerprint)).size).toBe(recent.length)
})
