// The PostgreSQL backend against a real PostgreSQL server: the run's throwaway cluster
// (test/support/postgres.ts: Debian's postgresql, started in a temp dir on a free 127.0.0.1
// port), a database and a password-protected role of its own per store, and a cluster of its
// own for the test that restarts the server. Connections are cut with the server's own
// pg_terminate_backend, the server is stopped and started with pg_ctl, constraints are tried
// with raw SQL as the superuser. Nothing is mocked; the only instrument is a spy that counts
// the statements the real driver sends.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { inspect } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { initialChainState } from '../../../src/chain/chain-state.ts'
import { queuedOutboxEntry } from '../../../src/delivery/outbox-entry.ts'
import { createLogger, silentLogger, type Logger } from '../../../src/ops/logger.ts'
import type { Invoice } from '../../../src/settlement/invoice.ts'
import { DeadLetterReplayBusyError, StoreUnavailableError, StoreWriteError } from '../../../src/store/errors.ts'
import { connectionConfig } from '../../../src/store/postgres/connection.ts'
import { StoreSchemaTooNewError, StoreUrlError } from '../../../src/store/postgres/errors.ts'
import { SCHEMA_VERSION } from '../../../src/store/postgres/migrations.ts'
import { openPostgresDeadLetters, openPostgresStore, readPostgresSnapshot } from '../../../src/store/postgres/postgres-store.ts'
import type { Store } from '../../../src/store/store.ts'
import { freePort } from '../../support/anvil.ts'
import { openInvoice } from '../../support/invoice.ts'
import { createTestDatabase, startPostgresCluster, superuserClient, type PostgresCluster, type TestDatabase } from '../../support/postgres.ts'
import { describeStoreContract } from '../store-contract.ts'

let dir: string
let files = 0
const dlqPath = () => join(dir, `dlq-${++files}.jsonl`)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-pg-store-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const open = (db: TestDatabase, overrides: { logger?: Logger; poolSize?: number; dlqPath?: string } = {}) =>
  openPostgresStore({ url: db.url, poolSize: overrides.poolSize ?? 4, dlqPath: overrides.dlqPath ?? dlqPath(), logger: overrides.logger ?? silentLogger() })

describeStoreContract('PostgreSQL', async () => {
  const db = await createTestDatabase()
  const path = dlqPath()
  return { store: await open(db, { dlqPath: path }), reopen: () => open(db, { dlqPath: path }), dlqPath: path }
})

/** Resolves once `condition` holds, polling (bounded: the machine is busy). */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Whether `promise` has rejected by now (it is observed, never left unhandled). */
function settledState(promise: Promise<unknown>): () => 'pending' | 'rejected' {
  let state: 'pending' | 'rejected' = 'pending'
  promise.catch(() => (state = 'rejected'))
  return () => state
}

/** Log lines a logger wrote, as text. */
function capturingLogger(): { logger: Logger; text: () => string } {
  let text = ''
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8')
      done()
    },
  })
  return { logger: createLogger('debug', destination), text: () => text }
}

function settledInvoice(block: number, logIndex: number, overrides: Partial<Invoice> = {}): Invoice {
  const txHash = `0x${block.toString(16).padStart(64, '0')}` as const
  return openInvoice({
    uuid: crypto.randomUUID(),
    status: 'settled',
    settlement: { txHash, blockNumber: block, blockHash: txHash, logIndex, from: '0x1111111111111111111111111111111111111111', to: '0x2222222222222222222222222222222222222222', providers: ['primary', 'secondary'], detectedAt: '2030-01-01T00:00:00.000Z', settledAt: '2030-01-01T00:00:00.000Z', webhookId: `msg_${block}_${logIndex}` },
    ...overrides,
  })
}

/** A pair written in one transaction: an invoice and the outbox entry announcing it. */
function announcedInvoice(i: number): { invoice: Invoice; webhookId: string } {
  const invoice = openInvoice({ uuid: crypto.randomUUID(), amount: String(1_000 + i), createdAt: new Date(Date.UTC(2030, 0, 1) + i).toISOString() })
  return { invoice, webhookId: `msg_pair_${invoice.uuid}` }
}

function putAnnounced(store: Store, pair: { invoice: Invoice; webhookId: string }): Promise<void> {
  return store.transact((tx) => {
    tx.putInvoice(pair.invoice)
    tx.putOutboxEntry(
      queuedOutboxEntry({
        webhookId: pair.webhookId,
        merchantId: pair.invoice.merchantId,
        invoiceUuid: pair.invoice.uuid,
        type: 'invoice.settled',
        at: pair.invoice.createdAt,
        data: { invoice_uuid: pair.invoice.uuid, merchant_id: 'acme', chain_id: 31337, token: pair.invoice.token, from: pair.invoice.token, to: pair.invoice.token, amount: pair.invoice.amount, tx_hash: '0x00', block_number: 1, block_hash: '0x00', log_index: 0, confirmations: 1, providers: [], detected_at: pair.invoice.createdAt, settled_at: null },
      }),
    )
  })
}

/** Every pair acknowledged is there whole; every pair there is whole (an invoice never without its entry, nor the reverse). */
async function expectPairsIntact(store: Store, acknowledged: readonly { invoice: Invoice; webhookId: string }[], attempted: readonly { invoice: Invoice; webhookId: string }[]): Promise<void> {
  const invoices = await store.read(async (r) => Promise.all(attempted.map((p) => r.getInvoice(p.invoice.uuid))))
  const entries = await store.read((r) => r.getOutboxEntries(attempted.map((p) => p.webhookId)))
  attempted.forEach((pair, i) => expect(invoices[i] !== undefined).toBe(entries.has(pair.webhookId)))
  for (const pair of acknowledged) expect(await store.findInvoice(pair.invoice.uuid)).toEqual(pair.invoice)
}

describe('PostgreSQL store', () => {
  it('migrates a new database once when several processes open it at the same moment', async () => {
    const db = await createTestDatabase()
    const stores = await Promise.all(Array.from({ length: 6 }, () => open(db, { poolSize: 2 })))
    try {
      const versions = await db.sql<{ version: number; n: string }>('SELECT version, count(*) AS n FROM settleproof_migrations GROUP BY version ORDER BY version')
      expect(versions.rows).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1, n: '1' })))
      // Each of them works on the one schema.
      await Promise.all(stores.map((store, i) => store.transact((tx) => tx.putInvoice(openInvoice({ uuid: crypto.randomUUID(), amount: String(i + 1) })))))
      expect((await stores[0]!.read((r) => r.counts())).invoices.open).toBe(6)
    } finally {
      await Promise.all(stores.map((store) => store.close()))
    }
    const again = await open(db)
    await again.close()
    expect((await db.sql('SELECT * FROM settleproof_migrations')).rowCount).toBe(SCHEMA_VERSION)
  })

  it('refuses a schema newer than this release knows, naming both versions, and leaves it untouched', async () => {
    const db = await createTestDatabase()
    await (await open(db)).close()
    await db.sql(`INSERT INTO settleproof_migrations (version, description) VALUES (${SCHEMA_VERSION + 7}, 'from a later release')`)
    for (const attempt of [() => open(db), () => openPostgresDeadLetters({ url: db.url, dlqPath: dlqPath() }), () => readPostgresSnapshot({ url: db.url })]) {
      const error = await attempt().then(
        async (opened) => {
          if (opened !== null && 'close' in opened) await opened.close()
          return undefined
        },
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(StoreSchemaTooNewError)
      expect((error as Error).message).toContain(`schema version ${SCHEMA_VERSION + 7}, newer than this release knows (${SCHEMA_VERSION})`)
    }
    expect((await db.sql('SELECT max(version) AS v FROM settleproof_migrations')).rows[0]).toEqual({ v: SCHEMA_VERSION + 7 })
  })

  it('the database itself refuses a second settlement of an invoice, a second invoice on one transfer and a second outbox row per webhook id, even from raw SQL', async () => {
    const db = await createTestDatabase()
    const store = await open(db)
    try {
      const first = settledInvoice(10, 3)
      const other = openInvoice({ uuid: crypto.randomUUID(), amount: '2000' })
      const entry = queuedOutboxEntry({ webhookId: 'msg_once', merchantId: 'acme', invoiceUuid: null, type: 'payment.unmatched', at: '2030-01-01T00:00:00.000Z', data: {} as never })
      await store.transact((tx) => {
        tx.putInvoice(first)
        tx.putInvoice(other)
        tx.putOutboxEntry(entry)
      })
      const refusal = (sql: string, values?: unknown[]) => db.sql(sql, values).then(() => undefined, (e: { code?: string; constraint?: string }) => ({ code: e.code, constraint: e.constraint }))
      // Another invoice settled by the same transfer (tx hash + log index).
      const sameTransfer = { ...other, status: 'settled', settlement: first.settlement }
      expect(await refusal('UPDATE invoices SET body = $1 WHERE uuid = $2', [JSON.stringify(sameTransfer), other.uuid])).toEqual({ code: '23505', constraint: 'invoices_one_per_transfer' })
      expect(await refusal('INSERT INTO invoices (body) VALUES ($1)', [JSON.stringify({ ...sameTransfer, uuid: crypto.randomUUID() })])).toEqual({ code: '23505', constraint: 'invoices_one_per_transfer' })
      // The settled invoice settled again by another transfer, without the first being reverted.
      const resettled = { ...first, settlement: settledInvoice(11, 0).settlement }
      expect(await refusal('UPDATE invoices SET body = $1 WHERE uuid = $2', [JSON.stringify(resettled), first.uuid])).toEqual({ code: '23000', constraint: 'invoices_settled_once' })
      // A second row for the invoice, or for the webhook id.
      expect(await refusal('INSERT INTO invoices (body) VALUES ($1)', [JSON.stringify(resettled)])).toEqual({ code: '23505', constraint: 'invoices_pkey' })
      expect(await refusal('INSERT INTO outbox (body) VALUES ($1)', [JSON.stringify(entry)])).toEqual({ code: '23505', constraint: 'outbox_pkey' })
      // A settled invoice without a settlement.
      expect(await refusal('UPDATE invoices SET body = $1 WHERE uuid = $2', [JSON.stringify({ ...other, status: 'settled' }), other.uuid])).toEqual({ code: '23514', constraint: 'invoices_settled_has_settlement' })
      // Once reverted (a reorg), the invoice may be settled by another transfer.
      expect(await refusal('UPDATE invoices SET body = $1 WHERE uuid = $2', [JSON.stringify({ ...resettled, reverted: [first.settlement] }), first.uuid])).toBeUndefined()

      // Through the store, the same refusal is a fatal write failure: nothing of the transaction lands.
      const failed = settledState(store.failed)
      const error = await store
        .transact((tx) => {
          tx.putInvoice({ ...other, status: 'settled', settlement: { ...first.settlement!, txHash: resettled.settlement!.txHash, logIndex: resettled.settlement!.logIndex } })
          tx.putChainState({ ...initialChainState(31337, 1), checkpoint: 99 })
        })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreWriteError)
      expect((error as StoreWriteError).message).toContain('invoices_one_per_transfer')
      await until(() => failed() === 'rejected', 'the store reports the failure')
      await expect(store.failed).rejects.toBe(error)
      expect(store.availability()).toEqual({ available: false, reason: (error as Error).message })
      const rows = await db.sql<{ status: string }>('SELECT status FROM invoices WHERE uuid = $1', [other.uuid])
      expect(rows.rows).toEqual([{ status: 'open' }])
      expect((await db.sql('SELECT * FROM chain_state')).rowCount).toBe(0)
    } finally {
      await store.close()
    }
  })

  it('two transactions that both saw a transfer unhandled and settle two invoices with it: one commits, the other runs again and finds it handled', async () => {
    const db = await createTestDatabase()
    const store = await open(db)
    try {
      const [a, b] = [openInvoice({ uuid: crypto.randomUUID(), createdAt: '2030-01-01T00:00:00.000Z' }), openInvoice({ uuid: crypto.randomUUID(), createdAt: '2030-01-01T00:00:01.000Z' })]
      await store.transact((tx) => [a!, b!].forEach((inv) => tx.putInvoice(inv)))
      const transfer = settledInvoice(42, 7).settlement!
      // Both read before either writes (first runs only): the interleaving that would settle twice.
      let arrived = 0
      let bothRead!: () => void
      const barrier = new Promise<void>((resolve) => (bothRead = resolve))
      const runs = { a: 0, b: 0 }
      const settle = (invoice: Invoice, who: 'a' | 'b') =>
        store.transact(async (tx) => {
          runs[who]++
          const handled = (await tx.processedTransfers(['transfer-x'])).has('transfer-x')
          if (runs[who] === 1 && ++arrived === 2) bothRead()
          if (runs[who] === 1) await barrier
          if (handled) return 'duplicate'
          tx.putInvoice({ ...invoice, status: 'settled', settlement: transfer })
          tx.putProcessedTransfers('transfer-x', [{ block: 42, invoiceUuid: invoice.uuid }])
          return 'settled'
        })
      const outcomes = await Promise.all([settle(a!, 'a'), settle(b!, 'b')])
      expect(outcomes.sort()).toEqual(['duplicate', 'settled'])
      expect(runs.a + runs.b).toBe(3) // the loser ran again, once
      const settled = (await Promise.all([a!, b!].map((inv) => store.findInvoice(inv.uuid)))).filter((inv) => inv?.status === 'settled')
      expect(settled).toHaveLength(1)
      expect(store.availability()).toEqual({ available: true })
    } finally {
      await store.close()
    }
  })

  it('a transaction whose function swallowed a failed statement is not reported committed', async () => {
    const db = await createTestDatabase()
    const store = await open(db)
    try {
      const lost = openInvoice({ uuid: crypto.randomUUID() })
      const outcome = await store
        .transact(async (tx) => {
          tx.putInvoice(lost)
          await tx.listPendingOutbox({ limit: -5 }).catch(() => undefined) // the server refuses LIMIT -4; the transaction is now aborted
          return 'committed?'
        })
        .catch((error: unknown) => error)
      expect(outcome).toBeInstanceOf(Error)
      expect(await store.findInvoice(lost.uuid)).toBeUndefined()
      // With nothing to write, the server's silent ROLLBACK is what tells.
      const readOnly = await store.transact(async (tx) => (await tx.listPendingOutbox({ limit: -5 }).catch(() => undefined), 'answered')).catch((error: unknown) => error)
      expect(readOnly).toBeInstanceOf(Error)
      expect((readOnly as Error).message).toContain('rolled back')
      expect(store.availability()).toEqual({ available: true })
    } finally {
      await store.close()
    }
  })

  it('never shows the URL: location has host, port and database only; errors and log lines carry neither its password nor its query', async () => {
    const db = await createTestDatabase()
    const { logger, text } = capturingLogger()
    const secrets = [db.password, 'query-secret-value', 'Wr0ngPassw0rd']
    const leaks = (value: unknown) => secrets.filter((secret) => inspect(value, { depth: 10 }).includes(secret) || String(value).includes(secret))
    const store = await open(db, { logger })
    try {
      expect(store.location).toBe(`postgres://127.0.0.1:${db.cluster.port}/${db.name}`)
      // Refused password, closed port, a URL that does not parse, a database that does not exist.
      const withQuery = `${db.url}?application_name=query-secret-value`
      const attempts = [
        withQuery.replace(db.password, 'Wr0ngPassw0rd'),
        withQuery.replace(`:${db.cluster.port}/`, `:${await freePort()}/`),
        `postgres://${db.role}:${db.password}@[127.0.0.1:${db.cluster.port}/x?application_name=query-secret-value`,
        withQuery.replace(`/${db.name}?`, '/no_such_database?'),
      ]
      const errors = await Promise.all(attempts.map((url) => openPostgresStore({ url, poolSize: 1, dlqPath: dlqPath(), logger }).then((s) => s.close(), (e: unknown) => e)))
      expect(errors.map((e) => (e as Error).constructor)).toEqual([StoreUnavailableError, StoreUnavailableError, StoreUrlError, StoreUnavailableError])
      expect(errors.map((e) => (e as StoreUnavailableError).message)).toEqual([
        'store unavailable: the server refused the password (28P01)',
        'store unavailable: the connection was refused (ECONNREFUSED)',
        'storage.url is not a PostgreSQL URL (it does not parse as a URL): use postgres://user:password@host:5432/database',
        'store unavailable: the database does not exist (3D000)',
      ])
      for (const error of errors) expect(leaks(error)).toEqual([])
      for (const attempt of [() => readPostgresSnapshot({ url: attempts[0]! }), () => openPostgresDeadLetters({ url: attempts[0]!, dlqPath: dlqPath() })]) {
        const error = await attempt().then(() => undefined, (e: unknown) => e)
        expect(error).toBeInstanceOf(StoreUnavailableError)
        expect(leaks(error)).toEqual([])
      }
      // The database goes away while the store runs: the reason and the log lines name no secret.
      await db.refuseConnections(true)
      await db.terminateSessions()
      const outage = await store.read((r) => r.counts()).catch((e: unknown) => e)
      expect(outage).toBeInstanceOf(StoreUnavailableError)
      expect(leaks(outage)).toEqual([])
      expect(store.availability().available).toBe(false)
      expect(leaks(store.availability())).toEqual([])
      await db.refuseConnections(false)
      await until(() => store.availability().available, 'the store is available again')
      expect(text()).toContain('database unreachable')
      expect(text()).toContain('database reachable again')
      expect(secrets.filter((secret) => text().includes(secret))).toEqual([])
    } finally {
      await store.close()
      await db.refuseConnections(false)
    }
  })

  it('sets statement_timeout and idle_in_transaction_session_timeout on every connection', async () => {
    const db = await createTestDatabase()
    const client = new pg.Client(connectionConfig(db.url))
    await client.connect()
    try {
      expect((await client.query('SHOW statement_timeout')).rows[0]).toEqual({ statement_timeout: '30s' })
      expect((await client.query('SHOW idle_in_transaction_session_timeout')).rows[0]).toEqual({ idle_in_transaction_session_timeout: '1min' })
    } finally {
      await client.end()
    }
    // The store's own connections: what the server reports for its sessions.
    const store = await open(db)
    try {
      let held!: () => void
      const holding = new Promise<void>((resolve) => (held = resolve))
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      const tx = store.transact(async (t) => {
        await t.getChainState()
        held()
        await released
      })
      await holding
      const settings = await db.sql<{ application_name: string }>(`SELECT application_name FROM pg_stat_activity WHERE usename = $1 AND state = 'idle in transaction'`, [db.role])
      expect(settings.rows).toEqual([{ application_name: 'settleproof' }])
      release()
      await tx
    } finally {
      await store.close()
    }
  })

  it('every connection cut with pg_terminate_backend while the database refuses new ones: unavailable with a reason, back by itself, nothing committed lost, nothing half applied', async () => {
    const db = await createTestDatabase()
    const store = await open(db, { poolSize: 3 })
    const failed = settledState(store.failed)
    try {
      const committed = Array.from({ length: 5 }, (_, i) => announcedInvoice(i))
      for (const pair of committed) await putAnnounced(store, pair)
      // A transaction is mid-way (it read, and waits) when every connection is cut.
      let inside!: () => void
      const isInside = new Promise<void>((resolve) => (inside = resolve))
      let resume!: () => void
      const resumed = new Promise<void>((resolve) => (resume = resolve))
      const halfDone = announcedInvoice(99)
      const midway = store
        .transact(async (tx) => {
          tx.putInvoice(halfDone.invoice)
          await tx.getInvoice(committed[0]!.invoice.uuid)
          inside()
          await resumed
          await tx.getOutboxEntries([halfDone.webhookId])
        })
        .catch((e: unknown) => e)
      await isInside
      await db.refuseConnections(true)
      expect(await db.terminateSessions()).toBeGreaterThan(0)
      resume()
      const error = await midway
      expect(error).toBeInstanceOf(StoreUnavailableError)
      expect((error as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE')
      const availability = store.availability()
      expect(availability.available).toBe(false)
      expect(availability).toMatchObject({ reason: expect.stringMatching(/ended the connection|cut|does not accept connections/) })
      // While it refuses connections, calls fail fast with the same error, and the store stays down.
      await expect(store.read((r) => r.getChainState())).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(putAnnounced(store, announcedInvoice(100))).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(store.availability()).toEqual({ available: false, reason: 'the database does not accept connections now (55000)' })
      await db.refuseConnections(false)
      // Nobody queries: the background probe brings it back.
      await until(() => store.availability().available, 'the store is available again by itself')
      expect(failed()).toBe('pending') // never fatal
      await expectPairsIntact(store, committed, [...committed, halfDone])
      expect(await store.findInvoice(halfDone.invoice.uuid)).toBeUndefined()
      const after = announcedInvoice(101)
      await putAnnounced(store, after)
      await expectPairsIntact(store, [...committed, after], [...committed, after])
    } finally {
      await store.close()
      await db.refuseConnections(false)
    }
  })

  describe('a cluster of its own, restarted under load', () => {
    let cluster: PostgresCluster
    beforeAll(async () => {
      cluster = await startPostgresCluster()
    })
    afterAll(async () => {
      await cluster?.destroy()
    })

    for (const mode of ['fast', 'immediate'] as const) {
      it(`the server stopped (${mode === 'fast' ? 'a clean shutdown' : 'a crash'}) and started again while transactions run: unavailable, back by itself, every acknowledged commit kept, none half applied`, async () => {
        const db = await createTestDatabase(cluster)
        const store = await open(db, { poolSize: 4 })
        const failed = settledState(store.failed)
        const acknowledged: ReturnType<typeof announcedInvoice>[] = []
        const attempted: ReturnType<typeof announcedInvoice>[] = []
        const refusals = new Set<string>()
        let writing = true
        let n = 0
        // Writers commit pairs back to back throughout (bounded: at most 100,000 attempts).
        const writer = async () => {
          while (writing && n < 100_000) {
            const pair = announcedInvoice(n++)
            attempted.push(pair)
            try {
              await putAnnounced(store, pair)
              acknowledged.push(pair)
            } catch (error) {
              refusals.add((error as Error).constructor.name)
              await new Promise((resolve) => setTimeout(resolve, 20)) // the caller's own backoff
            }
          }
        }
        const writers = [writer(), writer(), writer()]
        try {
          await until(() => acknowledged.length >= 20, 'some commits land before the stop')
          await cluster.stop(mode)
          await until(() => !store.availability().available, 'the store sees the server gone')
          const whileDown = acknowledged.length
          await cluster.start()
          await until(() => store.availability().available && acknowledged.length > whileDown + 20, 'the store is back and commits again')
        } finally {
          writing = false
          await Promise.all(writers)
        }
        try {
          expect([...refusals]).toEqual(['StoreUnavailableError'])
          expect(failed()).toBe('pending')
          await expectPairsIntact(store, acknowledged, attempted)
          const counted = (await store.read((r) => r.counts())).invoices.open
          expect(counted).toBeGreaterThanOrEqual(acknowledged.length)
          expect(counted).toBeLessThanOrEqual(attempted.length)
        } finally {
          await store.close()
        }
      }, 180_000)
    }
  })

  it('writes a range of 1,000 settlements with as many statements as a range of one: one per table, and one per batch read', async () => {
    const db = await createTestDatabase()
    const store = await open(db)
    const query = vi.spyOn(pg.Client.prototype, 'query')
    try {
      const statementsFor = async (count: number, round: number) => {
        const invoices = Array.from({ length: count }, (_, i) => openInvoice({ uuid: crypto.randomUUID(), amount: String(round * 100_000 + i + 1) }))
        await store.transact((tx) => invoices.forEach((inv) => tx.putInvoice(inv)))
        query.mockClear()
        // What the reader and settlement do for one range: batch reads, then puts (settlement, event, transfer, checkpoint).
        await store.transact(async (tx) => {
          const identities = invoices.map((inv) => `identity-${inv.uuid}`)
          const seen = await tx.processedTransfers(identities)
          const open = await tx.openInvoices(invoices.map((inv) => ({ merchantId: inv.merchantId, token: inv.token, amount: inv.amount })))
          const ids = invoices.map((inv) => `msg_${inv.uuid}`)
          const existing = await tx.getOutboxEntries(ids)
          expect(seen.size + existing.size).toBe(0)
          invoices.forEach((inv, i) => {
            const settlement = settledInvoice(round * 100_000 + i + 1, 0).settlement!
            tx.putInvoice({ ...open.get(`${inv.merchantId}|${inv.token}|${inv.amount}`)![0]!, status: 'settled', settlement })
            tx.putOutboxEntry(queuedOutboxEntry({ webhookId: ids[i]!, merchantId: inv.merchantId, invoiceUuid: inv.uuid, type: 'invoice.settled', at: inv.createdAt, data: {} as never }))
            tx.putProcessedTransfers(identities[i]!, [{ block: settlement.blockNumber, invoiceUuid: inv.uuid }])
          })
          tx.putChainState({ ...initialChainState(31337, 1), checkpoint: round })
        })
        return query.mock.calls.map(([text]) => (typeof text === 'string' ? text.split(/\s+/).slice(0, 3).join(' ') : 'config'))
      }
      const one = await statementsFor(1, 1)
      const thousand = await statementsFor(1_000, 2)
      // BEGIN, three batch reads, four writes (checkpoint, invoices, outbox, transfers), COMMIT.
      expect(one).toHaveLength(9)
      expect(thousand).toEqual(one)
      expect((await store.read((r) => r.counts())).invoices.settled).toBe(1_001)
    } finally {
      query.mockRestore()
      await store.close()
    }
  })

  it('answers the hot reads from the partial indexes of pending rows, never by scanning history', async () => {
    const db = await createTestDatabase()
    const store = await open(db)
    const query = vi.spyOn(pg.Client.prototype, 'query')
    try {
      await store.transact((tx) => tx.putInvoice(openInvoice({ uuid: crypto.randomUUID() })))
      query.mockClear()
      await store.read(async (r) => {
        await r.openInvoices([{ merchantId: 'acme', token: openInvoice().token, amount: '1000' }])
        await r.dueOutboxEntries(Date.now(), 10, new Set(['globex']))
        await r.listPendingOutbox({ limit: 10, merchantId: 'acme', states: ['queued'] })
        await r.counts()
      })
      const reads = query.mock.calls.map(([text, values]) => ({ text: text as unknown as string, values: values as unknown[] }))
      expect(reads).toHaveLength(4)
      const admin = await superuserClient(db.cluster, db.name)
      try {
        await admin.query('SET enable_seqscan = off') // a partial index whose predicate the query does not imply could not be used at all
        const plans: string[] = []
        for (const { text, values } of reads) plans.push((await admin.query(`EXPLAIN ${text}`, values)).rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n'))
        expect(plans[0]).toContain('invoices_open_by_payment')
        expect(plans[1]).toContain('outbox_pending')
        expect(plans[2]).toContain('outbox_pending_by_merchant')
        expect(plans[3]).toMatch(/invoices_open_by_expiry|invoices_open_by_payment|invoices_open_by_merchant/)
        expect(plans[3]).toMatch(/outbox_pending/)
        for (const plan of plans) expect(plan).not.toMatch(/Seq Scan on (invoices|outbox)/)
      } finally {
        await admin.end()
      }
    } finally {
      query.mockRestore()
      await store.close()
    }
  })

  it('the hot reads do the same work (buffer accesses) with 10,000 settled invoices in history as with 100', async () => {
    /** Buffer accesses (shared hits and reads) of each hot read, from the server's EXPLAIN (ANALYZE, BUFFERS). */
    const pagesTouched = async (history: number) => {
      const db = await createTestDatabase()
      const store = await open(db)
      const query = vi.spyOn(pg.Client.prototype, 'query')
      try {
        let serial = 0
        const fresh = (n: number) => Array.from({ length: n }, () => openInvoice({ uuid: crypto.randomUUID(), amount: String(++serial), createdAt: new Date(Date.UTC(2030, 0, 1) + serial).toISOString() }))
        const announce = (inv: Invoice, state: 'queued' | 'delivered') => ({
          ...queuedOutboxEntry({ webhookId: `msg_${inv.uuid}`, merchantId: inv.merchantId, invoiceUuid: inv.uuid, type: 'invoice.settled', at: inv.createdAt, data: {} as never }),
          ...(state === 'delivered' ? { state, attempts: 1 } : {}),
        })
        for (let done = 0; done < history; done += 1_000) {
          const batch = fresh(Math.min(1_000, history - done))
          await store.transact((tx) => batch.forEach((inv) => (tx.putInvoice(settledInvoice(++serial, 0, { uuid: inv.uuid, amount: inv.amount, createdAt: inv.createdAt })), tx.putOutboxEntry(announce(inv, 'delivered')))))
        }
        const pending = fresh(50)
        await store.transact((tx) => pending.forEach((inv) => (tx.putInvoice(inv), tx.putOutboxEntry(announce(inv, 'queued')))))
        await store.compact(0)
        await db.sql('VACUUM ANALYZE') // as autovacuum does after a burst of writes
        query.mockClear()
        await store.read(async (r) => {
          await r.dueOutboxEntries(Date.now(), 100)
          await r.openInvoices(pending.map((inv) => ({ merchantId: inv.merchantId, token: inv.token, amount: inv.amount })))
          await r.listPendingOutbox({ limit: 100 })
          await r.counts()
        })
        const reads = query.mock.calls.map(([text, values]) => ({ text: text as unknown as string, values: values as unknown[] }))
        query.mockRestore()
        const admin = await superuserClient(db.cluster, db.name)
        try {
          // The plan the planner picks for a large history, for both sizes: a small table may be read whole instead, which says nothing.
          await admin.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off')
          const pages: number[] = []
          for (const { text, values } of reads) {
            const plan = (await admin.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values)).rows[0]['QUERY PLAN'][0] as { Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }
            pages.push(plan.Plan['Shared Hit Blocks'] + plan.Plan['Shared Read Blocks'])
          }
          return pages
        } finally {
          await admin.end()
        }
      } finally {
        query.mockRestore()
        await store.close()
      }
    }
    const small = await pagesTouched(100)
    const large = await pagesTouched(10_000)
    expect(small).toHaveLength(4)
    // Equal but for where the 50 pending rows' page boundaries fall: 100× the history, the same work.
    large.forEach((pages, i) => expect(pages, `read ${i}: ${small} then ${large}`).toBeLessThanOrEqual(small[i]! + 2))
  }, 120_000)

  it('dead letters opened alone (dlq list, dlq replay) see the letters the daemon recorded, and share its replay lock across connections', async () => {
    const db = await createTestDatabase()
    const store = await open(db)
    const cli = await openPostgresDeadLetters({ url: db.url, dlqPath: dlqPath() })
    try {
      const letter = { kind: 'dead_letter' as const, webhook_id: 'msg_dead', merchant_id: 'acme', url: 'https://merchant.example/h', type: 'payment.unmatched' as const, payload: { type: 'payment.unmatched' as const, timestamp: '2030-01-01T00:00:00.000Z', data: {} as never }, attempts: 3, first_attempt_at: null, last_attempt_at: null, last_error: 'HTTP 410', dead_at: '2030-01-01T00:00:01.000Z' }
      await store.deadLetters.append([letter])
      expect(await cli.list()).toEqual([{ ...letter, replayed_at: null }])
      await cli.markReplayed({ kind: 'replayed', webhook_id: 'msg_dead', replayed_at: '2030-01-01T00:00:02.000Z', status: 200 })
      expect((await store.deadLetters.list())[0]?.replayed_at).toBe('2030-01-01T00:00:02.000Z')
      // The daemon's store and the CLI never hold the replay turn together: the second is refused, then served once it is free.
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let entered!: () => void
      const inside = new Promise<void>((resolve) => (entered = resolve))
      const first = store.deadLetters.withReplayLock(async () => {
        entered()
        await held
      })
      await inside
      const refused = await cli.withReplayLock(async () => 'ran').catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(DeadLetterReplayBusyError)
      release()
      await first
      expect(await cli.withReplayLock(async () => 'ran')).toBe('ran')
    } finally {
      await cli.close()
      await store.close()
    }
  })

  it('status reads the checkpoint and totals without migrating: null for a database never written to', async () => {
    const db = await createTestDatabase()
    expect(await readPostgresSnapshot({ url: db.url })).toBeNull()
    expect((await db.sql(`SELECT to_regclass('invoices') AS t`)).rows[0]).toEqual({ t: null }) // nothing was created
    const store = await open(db)
    try {
      expect(await readPostgresSnapshot({ url: db.url })).toBeNull()
      await store.transact((tx) => {
        tx.putChainState({ ...initialChainState(31337, 1), checkpoint: 77 })
        tx.putInvoice(openInvoice({ uuid: crypto.randomUUID() }))
      })
      const snapshot = await readPostgresSnapshot({ url: db.url })
      expect(snapshot?.chain?.checkpoint).toBe(77)
      expect(snapshot?.counts.invoices.open).toBe(1)
    } finally {
      await store.close()
    }
  })
})
