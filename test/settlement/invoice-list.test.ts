import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import got from 'got'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.ts'
import { startHttpServer, type HttpServer } from '../../src/ops/http-server.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { invoiceRoutes } from '../../src/settlement/invoice-routes.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { Store } from '../../src/store/store.ts'
import { apiKeyOf, daemonDocument, eventually, merchantAddress, secretOf, startMerchantWorld, startTestDaemon, type DaemonUnderTest, type MerchantWorld } from '../support/daemon-harness.ts'

const TOKEN = '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'
type Reply = { status: number; body: any }
type Resource = { uuid: string; merchant_id: string; created_at: string; status: string }

/**
 * `GET /v1/invoices` on the real HTTP server and a real lowdb store, with the routes' clock
 * injected so creation times are distinct and an invoice can expire without waiting.
 */
describe('GET /v1/invoices: own invoices, newest first, cursor paging, filters, errors', () => {
  const T0 = Date.parse('2030-01-01T00:00:00.000Z')
  let clock = T0
  let dir: string
  let store: Store
  let server: HttpServer
  /** Creation order, per merchant. */
  const created: Record<'acme' | 'globex', Resource[]> = { acme: [], globex: [] }
  let expiring: Resource

  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, options: { key?: string | null; body?: object } = {}): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (options.key !== null) headers.authorization = `Bearer ${options.key ?? apiKeyOf('acme')}`
    const response = await got(`http://127.0.0.1:${server.port}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), throwHttpErrors: false, retry: { limit: 0 } })
    return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : null }
  }
  const list = (query: string, merchant: 'acme' | 'globex' = 'acme') => call('GET', `/v1/invoices${query === '' ? '' : `?${query}`}`, { key: apiKeyOf(merchant) })
  const uuids = (reply: Reply) => (reply.body.invoices as Resource[]).map((r) => r.uuid)
  const newestFirst = (resources: Resource[]) => [...resources].reverse().map((r) => r.uuid)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'settleproof-list-'))
    const config = parseConfig({
      chain: { id: 8453 },
      providers: [{ name: 'primary', url: 'http://127.0.0.1:9/unused' }],
      quorum: 1,
      storage: { path: join(dir, 'store.json') },
      merchants: (['acme', 'globex'] as const).map((id) => ({ id, webhook_url: `http://127.0.0.1:9/${id}`, webhook_secret: secretOf(id), api_key: apiKeyOf(id), receive_addresses: [`0x${(id === 'acme' ? '1' : '2').repeat(40)}`], tokens: [TOKEN] })),
    })
    store = await openStore(config, { logger: silentLogger() })
    server = await startHttpServer({ host: '127.0.0.1', port: 0, logger: silentLogger(), routes: invoiceRoutes({ config, store, logger: silentLogger(), now: () => clock }) })
    // Five for acme and three for globex, interleaved, one second apart; acme's third expires at T0 + 30 s.
    const plan: ('acme' | 'globex')[] = ['acme', 'globex', 'acme', 'acme', 'globex', 'acme', 'globex', 'acme']
    for (const [i, merchant] of plan.entries()) {
      clock = T0 + (i + 1) * 1_000
      const expires = merchant === 'acme' && created.acme.length === 2 ? { expires_at: new Date(T0 + 30_000).toISOString() } : {}
      const reply = await call('POST', '/v1/invoices', { key: apiKeyOf(merchant), body: { uuid: randomUUID(), token: TOKEN, amount: String(100 + i), ...expires } })
      expect(reply.status).toBe(201)
      created[merchant].push(reply.body)
    }
    expiring = created.acme[2]!
    clock = T0 + 10_000
  })
  afterAll(async () => {
    await server.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('200: each merchant sees only its own invoices, newest first, each as GET /v1/invoices/:uuid returns it', async () => {
    for (const merchant of ['acme', 'globex'] as const) {
      const reply = await list('', merchant)
      expect(reply.status).toBe(200)
      expect(uuids(reply)).toEqual(newestFirst(created[merchant]))
      expect(reply.body.next_cursor).toBeNull()
      for (const resource of reply.body.invoices as Resource[]) expect(resource).toEqual((await call('GET', `/v1/invoices/${resource.uuid}`, { key: apiKeyOf(merchant) })).body)
    }
  })

  it('200: limit=2 walks every invoice exactly once, following next_cursor to a null one', async () => {
    const seen: string[] = []
    const pages: number[] = []
    let cursor: string | null = null
    for (let i = 0; i < 10; i++) {
      const reply = await list(`limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)
      expect(reply.status).toBe(200)
      pages.push(reply.body.invoices.length)
      seen.push(...uuids(reply))
      cursor = reply.body.next_cursor
      if (cursor === null) break
    }
    expect(pages).toEqual([2, 2, 1])
    expect(seen).toEqual(newestFirst(created.acme))
    // A page that ends exactly at the last invoice says so: no empty page after it.
    const four = await list('limit=4')
    const last = await list(`limit=1&cursor=${four.body.next_cursor}`)
    expect(uuids(last)).toEqual([created.acme[0]!.uuid])
    expect(last.body.next_cursor).toBeNull()
  })

  it('200: status=open and status=expired follow the clock; status=settled is empty before any payment', async () => {
    const others = created.acme.filter((r) => r !== expiring)
    expect(uuids(await list('status=open'))).toEqual(newestFirst(created.acme))
    expect(uuids(await list('status=expired'))).toEqual([])
    clock = T0 + 30_000 // expires_at reached
    try {
      const expired = await list('status=expired')
      expect(uuids(expired)).toEqual([expiring.uuid])
      expect(expired.body.invoices[0].status).toBe('expired')
      expect(uuids(await list('status=open'))).toEqual(newestFirst(others))
      expect(uuids(await list('status=settled'))).toEqual([])
      // Paging within a filter: the cursor carries on in the filtered list.
      const first = await list('status=open&limit=3')
      expect(uuids(first)).toEqual(newestFirst(others).slice(0, 3))
      expect(uuids(await list(`status=open&limit=3&cursor=${first.body.next_cursor}`))).toEqual(newestFirst(others).slice(3))
    } finally {
      clock = T0 + 10_000
    }
  })

  it('200: created_after and created_before bound the creation time, both exclusive, and combine', async () => {
    const [a0, a1, a2, a3, a4] = created.acme as [Resource, Resource, Resource, Resource, Resource]
    expect(uuids(await list(`created_after=${a2.created_at}`))).toEqual([a4.uuid, a3.uuid])
    expect(uuids(await list(`created_before=${a2.created_at}`))).toEqual([a1.uuid, a0.uuid])
    expect(uuids(await list(`created_after=${a0.created_at}&created_before=${a4.created_at}`))).toEqual([a3.uuid, a2.uuid, a1.uuid])
    // Another zone, the same instant: a2 was created at T0 + 4 s.
    expect(uuids(await list(`created_after=${encodeURIComponent('2030-01-01T01:00:03+01:00')}&created_before=${encodeURIComponent('2030-01-01T01:00:05+01:00')}`))).toEqual([a2.uuid])
  })

  const bad: [string, string][] = [
    ['status=paid', 'status'],
    ['status=open&status=settled', 'status'],
    ['created_after=yesterday', 'created_after'],
    ['created_before=2030-01-01', 'created_before'],
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    ['starting_after=x', 'starting_after'],
  ]
  for (const [query, path] of bad) {
    it(`400: ${query} names ${path}`, async () => {
      const reply = await list(query)
      expect(reply.status).toBe(400)
      expect(reply.body.error).toMatchObject({ code: 'invalid_request', path })
      expect(reply.body.error.message).toMatch(new RegExp(`^${path} `))
    })
  }

  it('401: no key, or a wrong one, before anything else is looked at', async () => {
    for (const key of [null, 'acme-api-key-wrong']) {
      const reply = await call('GET', '/v1/invoices?status=paid', { key })
      expect(reply.status).toBe(401)
      expect(reply.body.error.code).toBe('unauthorized')
    }
  })

  it('routes: POST /v1/invoices still creates, GET /v1/invoices/:uuid still reads, other methods are 405', async () => {
    const reply = await call('POST', '/v1/invoices', { body: { uuid: randomUUID(), token: TOKEN, amount: '1' } })
    expect(reply.status).toBe(201)
    expect((await call('GET', `/v1/invoices/${reply.body.uuid}`)).body).toEqual(reply.body)
    expect(uuids(await list('limit=1'))).toEqual([reply.body.uuid])
    expect((await call('DELETE', '/v1/invoices')).status).toBe(405)
    expect((await call('DELETE', `/v1/invoices/${reply.body.uuid}`)).status).toBe(405)
    created.acme.push(reply.body)
  })
})

/** The whole daemon on a real anvil chain: an invoice paid by a real ERC-20 transfer is listed as settled. */
describe('GET /v1/invoices on a running daemon', () => {
  let world: MerchantWorld
  let d: DaemonUnderTest
  beforeAll(async () => {
    world = await startMerchantWorld()
    d = await startTestDaemon(daemonDocument(world.chain, world.receiver, world.chain.dir))
  })
  afterAll(async () => {
    await d?.stop()
    await world?.close()
  })

  it('lists a paid invoice as settled and the unpaid ones as open, each merchant its own', async () => {
    const token = world.chain.token.address
    const acme = [randomUUID(), randomUUID(), randomUUID()]
    const globex = [randomUUID()]
    for (const [i, uuid] of acme.entries()) expect((await d.api('acme').post('invoices', { json: { uuid, token, amount: String(4_100 + i) } })).statusCode).toBe(201)
    expect((await d.api('globex').post('invoices', { json: { uuid: globex[0], token, amount: '4100' } })).statusCode).toBe(201)
    await world.chain.token.transfer(world.chain.payer, merchantAddress(world.chain, 'acme'), 4_101n)

    const listed = async (merchant: 'acme' | 'globex', query: string) => ((await d.api(merchant).get(`invoices?${query}`)).body as unknown as { invoices: Resource[] }).invoices.map((r) => r.uuid)
    await eventually(async () => (await listed('acme', 'status=settled')).length === 1, 20_000, 'the paid invoice listed as settled')
    expect(await listed('acme', 'status=settled')).toEqual([acme[1]])
    expect(new Set(await listed('acme', 'status=open'))).toEqual(new Set([acme[0], acme[2]]))
    expect(new Set(await listed('acme', ''))).toEqual(new Set(acme))
    expect(await listed('globex', '')).toEqual(globex)
    expect(await listed('globex', 'status=settled')).toEqual([])
  })
})
