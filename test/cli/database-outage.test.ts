import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import got from 'got'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startCli, waitForBoundPort, waitForOutput } from '../support/cli.ts'
import { apiClient, apiKeyOf, daemonDocument, eventually, MERCHANTS, merchantAddress, startMerchantWorld, writeDaemonConfig, type MerchantId, type MerchantWorld } from '../support/daemon-harness.ts'
import { createTestDatabase, startPostgresCluster, type PostgresCluster, type TestDatabase } from '../support/postgres.ts'

// Issue 10 item 6, at the daemon's level (SPEC §9: a database that goes away is not fatal).
// Everything is real: a PostgreSQL cluster of this file's own (from Debian's package; stopped
// and started with pg_ctl, its sessions ended with pg_terminate_backend), anvil and a deployed
// ERC-20 paid while the database is gone, three HTTP providers, `settleproof run` as a child
// process, its HTTP server, and the merchants' webhook receiver.

let cluster: PostgresCluster
let world: MerchantWorld
let count = 0
const started: ReturnType<typeof startCli>[] = []

beforeAll(async () => {
  cluster = await startPostgresCluster()
  world = await startMerchantWorld()
  // A little latency keeps webhook attempts in flight when the database goes.
  for (const m of MERCHANTS) world.receiver.setBehaviour(`/${m}`, { kind: 'ok', delayMs: 30 })
}, 120_000)
afterAll(async () => {
  for (const child of started) if (child.output.code === null && child.output.signal === null) child.kill('SIGKILL')
  await Promise.all(started.map((child) => child.exited))
  await world?.close()
  await cluster?.destroy()
})

type Resource = { status: string; settlement: { tx_hash: string } | null; delivery: { status: string; webhook_id: string } | null; reverted?: unknown[] }
type Readiness = { status: string; reasons: string[] }

/** A daemon configuration on a fresh database of the file's cluster; its first block is the chain's next. */
async function configure() {
  const { chain, receiver } = world
  const db = await createTestDatabase(cluster)
  const dir = join(chain.dir, `outage-${++count}`)
  const configPath = join(chain.dir, `outage-${count}.yaml`)
  const head = Number(await chain.anvil.client.getBlockNumber())
  await writeDaemonConfig(
    configPath,
    daemonDocument(
      chain,
      receiver,
      dir,
      {
        chain: { id: chain.anvil.chainId, confirmations: 1, start_block: head + 1, poll_interval_ms: 50 },
        server: { host: '127.0.0.1', port: 0 },
        log: { level: 'info' },
      },
      { driver: 'postgres', url: db.url },
    ),
  )
  return { db, configPath }
}

function run(configPath: string) {
  const child = startCli(['run', '--config', configPath], { timeoutMs: 300_000 })
  started.push(child)
  return child
}

async function readyz(port: number): Promise<{ statusCode: number; body: Readiness }> {
  const reply = await got(`http://127.0.0.1:${port}/readyz`, { throwHttpErrors: false, retry: { limit: 0 }, responseType: 'json', timeout: { request: 10_000 } })
  return { statusCode: reply.statusCode, body: reply.body as Readiness }
}

/** Waits until `/readyz` answers `status` (bounded: the machine is busy); returns its body. */
async function readyzBecomes(port: number, status: 200 | 503, timeoutMs = 60_000): Promise<Readiness> {
  let last: { statusCode: number; body: Readiness } | undefined
  await eventually(async () => (last = await readyz(port).catch(() => undefined))?.statusCode === status, timeoutMs, `/readyz ${status}`)
  return last!.body
}

type Paid = { uuid: string; merchant: MerchantId; amount: bigint; tx: string }

/** Creates `n` invoices (the API needs the store: before the outage). */
async function createInvoices(port: number, n: number): Promise<Paid[]> {
  const invoices = Array.from({ length: n }, (_, i): Paid => ({ uuid: randomUUID(), merchant: MERCHANTS[i % 2]!, amount: 20_000_000n + BigInt(count) * 1_000n + BigInt(i), tx: '' }))
  for (const invoice of invoices) {
    const reply = await apiClient(port, apiKeyOf(invoice.merchant)).post('invoices', { json: { uuid: invoice.uuid, token: world.chain.token.address, amount: invoice.amount.toString() } })
    expect(reply.statusCode).toBe(201)
  }
  return invoices
}

/** Pays the invoices one by one (a block each). */
async function pay(invoices: Paid[]): Promise<void> {
  for (const invoice of invoices) invoice.tx = await world.chain.token.transfer(world.chain.payer, merchantAddress(world.chain, invoice.merchant), invoice.amount)
}

/**
 * What must hold once the database is back: every invoice paid is settled, once, by its own
 * payment, and its event delivered at least once, every delivery of it under one webhook-id;
 * nothing else was sent (no second settlement, no unmatched payment); the database holds as
 * many settled invoices as were paid.
 */
async function expectSettledOnceAndDelivered(port: number, invoices: Paid[], db: TestDatabase): Promise<void> {
  const { receiver } = world
  const fetch = async (i: Paid) => (await apiClient(port, apiKeyOf(i.merchant)).get(`invoices/${i.uuid}`)).body as unknown as Resource
  await eventually(async () => (await Promise.all(invoices.map(fetch))).every((r) => r.delivery?.status === 'delivered'), 120_000, 'every invoice delivered')
  const resources = await Promise.all(invoices.map(fetch))
  for (const [i, invoice] of invoices.entries()) {
    expect(resources[i]).toMatchObject({ status: 'settled', settlement: { tx_hash: invoice.tx }, reverted: [] })
    const deliveries = receiver.delivered(`/${invoice.merchant}`).filter((r) => r.payload.data.invoice_uuid === invoice.uuid)
    expect(deliveries.length).toBeGreaterThanOrEqual(1)
    expect(new Set(deliveries.map((r) => r.webhookId))).toEqual(new Set([resources[i]!.delivery!.webhook_id]))
    expect(deliveries.every((r) => r.payload.type === 'invoice.settled' && r.payload.data.tx_hash === invoice.tx && r.verified)).toBe(true)
  }
  const ours = new Set(invoices.map((i) => i.uuid))
  const txs = new Set(invoices.map((i) => i.tx))
  // Nothing else about these payments reached a merchant (no payment.unmatched for them, no reverted).
  // (`data?.`: on a busy shared machine a stray client may hit the receiver's port with other JSON.)
  expect(receiver.received.filter((r) => txs.has(String(r.payload.data?.tx_hash)) && (r.payload.type !== 'invoice.settled' || !ours.has(String(r.payload.data?.invoice_uuid))))).toEqual([])
  const settled = await db.sql<{ n: string }>(`SELECT count(*) AS n FROM invoices WHERE status = 'settled'`)
  expect(Number(settled.rows[0]!.n)).toBe(invoices.length)
}

/** The daemon's own words about the outage never carry the URL or its password. */
function expectNoSecret(output: { stdout: string; stderr: string }, db: TestDatabase) {
  const text = output.stdout + output.stderr
  expect(text).not.toContain(db.password)
  expect(text).not.toContain(db.url)
}

async function checkpointOf(db: TestDatabase): Promise<number> {
  const result = await db.sql<{ checkpoint: number }>(`SELECT (state->>'checkpoint')::bigint AS checkpoint FROM chain_state`)
  return Number(result.rows[0]?.checkpoint ?? 0)
}

it('every connection terminated while the database refuses new ones, as payments come in and a webhook is in flight: /readyz 503 with the reason and the API 503 store_unavailable meanwhile, ready again by itself, never an exit; every invoice settled once, every event delivered under one webhook-id (the one whose outcome could not be recorded, again)', async () => {
  const { receiver } = world
  const { db, configPath } = await configure()
  const daemon = run(configPath)
  const port = await waitForBoundPort(daemon, 90_000)
  const invoices = await createInvoices(port, 10)
  // acme's endpoint holds its request until the test answers: an attempt is in flight when the database goes.
  receiver.setBehaviour('/acme', { kind: 'held', status: 200 })
  try {
    await pay(invoices.slice(0, 2))
    await eventually(() => receiver.received.some((r) => r.payload.data.invoice_uuid === invoices[0]!.uuid), 60_000, 'the first webhook in flight')
    const checkpointBefore = await checkpointOf(db)

    await db.refuseConnections(true)
    try {
      expect(await db.terminateSessions()).toBeGreaterThan(0)
      const down = await readyzBecomes(port, 503)
      expect(down.reasons.join(' ')).toMatch(/\((57P01|55000)\)|connection/)
      // The invoice API says so, in its own error shape, never a 500.
      const created = await apiClient(port, apiKeyOf('acme')).post('invoices', { json: { uuid: randomUUID(), token: world.chain.token.address, amount: '1' } })
      expect(created.statusCode).toBe(503)
      expect(created.body).toMatchObject({ error: { code: 'store_unavailable', message: expect.stringContaining('store unavailable'), path: null } })
      const read = await apiClient(port, apiKeyOf(invoices[0]!.merchant)).get(`invoices/${invoices[0]!.uuid}`)
      expect(read.statusCode).toBe(503)
      expect(read.body).toMatchObject({ error: { code: 'store_unavailable' } })
      // The merchant answers the attempt in flight: its outcome cannot be recorded.
      expect(receiver.release()).toBe(1)
      await waitForOutput(daemon, /the outcome of this attempt was not recorded/, 60_000)
      // Payments keep coming while the database is gone: the reader meets the outage and waits.
      await pay(invoices.slice(2))
      await waitForOutput(daemon, /the range is read again once it is back/, 60_000)
      expect(daemon.output.code).toBeNull()
    } finally {
      receiver.setBehaviour('/acme', { kind: 'ok', delayMs: 30 })
      await db.refuseConnections(false)
    }

    await readyzBecomes(port, 200)
    await expectSettledOnceAndDelivered(port, invoices, db)
    // The attempt whose outcome was lost was sent again, under the same webhook-id: at least once.
    expect(receiver.received.filter((r) => r.payload.data.invoice_uuid === invoices[0]!.uuid).length).toBeGreaterThanOrEqual(2)
    expect(await checkpointOf(db)).toBeGreaterThanOrEqual(checkpointBefore) // nothing committed lost
    expect(daemon.output.code).toBeNull()
    expectNoSecret(daemon.output, db)
    daemon.kill('SIGTERM')
    expect((await daemon.exited).code).toBe(0)
  } finally {
    receiver.setBehaviour('/acme', { kind: 'ok', delayMs: 30 })
    receiver.release()
  }
}, 300_000)

it('the cluster stopped (pg_ctl -m fast) and started again while payments come in: /readyz 503 with the reason, ready again by itself, never an exit; every invoice settled once and delivered', async () => {
  const { db, configPath } = await configure()
  const daemon = run(configPath)
  const port = await waitForBoundPort(daemon, 90_000)
  const invoices = await createInvoices(port, 10)
  await pay(invoices.slice(0, 2))
  await eventually(() => world.receiver.delivered().some((r) => r.payload.data.invoice_uuid === invoices[0]!.uuid), 60_000, 'a first delivery')
  const checkpointBefore = await checkpointOf(db)

  await cluster.stop('fast')
  try {
    const down = await readyzBecomes(port, 503)
    expect(down.reasons.join(' ')).toMatch(/\((57P01|57P03|ECONNREFUSED|ECONNRESET)\)|connection/)
    await pay(invoices.slice(2))
    await waitForOutput(daemon, /the range is read again once it is back/, 60_000)
    expect(daemon.output.code).toBeNull()
  } finally {
    await cluster.start()
  }

  await readyzBecomes(port, 200)
  await expectSettledOnceAndDelivered(port, invoices, db)
  expect(await checkpointOf(db)).toBeGreaterThanOrEqual(checkpointBefore)
  expect(daemon.output.code).toBeNull()
  expectNoSecret(daemon.output, db)
  daemon.kill('SIGTERM')
  expect((await daemon.exited).code).toBe(0)
}, 300_000)

it('run started while the database refuses connections: waits and retries (the reason logged, never the URL), /readyz 503 and /healthz 200 on its port meanwhile, then starts by itself on the same port; SIGTERM while waiting exits 0', async () => {
  const { db, configPath } = await configure()
  await db.refuseConnections(true)
  let port: number
  try {
    // A stop while waiting ends the wait cleanly.
    const stopped = run(configPath)
    await waitForOutput(stopped, /the store cannot be reached at start-up/, 90_000)
    stopped.kill('SIGTERM')
    const exit = await stopped.exited
    expect(exit.code).toBe(0)
    expect(exit.stdout).toContain('stopped while waiting for the store')

    const daemon = run(configPath)
    await waitForOutput(daemon, /the store cannot be reached at start-up/, 90_000)
    const line = daemon.output.stdout.split('\n').find((l) => l.includes('the store cannot be reached at start-up'))!
    const waiting = JSON.parse(line) as { reason: string; port: number; retry_in_ms: number }
    expect(waiting.reason).toContain('(55000)')
    port = waiting.port
    const down = await readyzBecomes(port, 503)
    expect(down.reasons.join(' ')).toContain('(55000)')
    expect((await got(`http://127.0.0.1:${port}/healthz`, { throwHttpErrors: false, retry: { limit: 0 } })).statusCode).toBe(200)
    const created = await apiClient(port, apiKeyOf('acme')).post('invoices', { json: { uuid: randomUUID(), token: world.chain.token.address, amount: '1' } })
    expect(created.statusCode).toBe(503)
    expect(created.body).toMatchObject({ error: { code: 'store_unavailable' } })
    // It keeps trying with backoff, and stays up.
    await eventually(() => daemon.output.stdout.split('\n').filter((l) => l.includes('the store cannot be reached at start-up')).length >= 2, 60_000, 'a second try')
    expect(daemon.output.code).toBeNull()

    await db.refuseConnections(false)
    expect(await waitForBoundPort(daemon, 90_000)).toBe(port)
    await readyzBecomes(port, 200)
    const [invoice] = await createInvoices(port, 1)
    await pay([invoice!])
    await expectSettledOnceAndDelivered(port, [invoice!], db)
    expectNoSecret(daemon.output, db)
    daemon.kill('SIGTERM')
    expect((await daemon.exited).code).toBe(0)
  } finally {
    await db.refuseConnections(false)
  }
}, 300_000)
