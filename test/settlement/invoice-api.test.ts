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
import { apiKeyOf, secretOf } from '../support/daemon-harness.ts'

const TOKEN = '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913'
const OTHER_TOKEN = '0x4200000000000000000000000000000000000006'
const ACME_ADDRESS = '0x1111111111111111111111111111111111111111'
const GLOBEX_ADDRESS = '0x2222222222222222222222222222222222222222'

let dir: string
let store: Store
let server: HttpServer

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-api-'))
  const config = parseConfig({
    chain: { id: 8453 },
    providers: [{ name: 'primary', url: 'http://127.0.0.1:9/unused' }],
    quorum: 1,
    storage: { path: join(dir, 'store.json') },
    merchants: [
      { id: 'acme', webhook_url: 'http://127.0.0.1:9/acme', webhook_secret: secretOf('acme'), api_key: apiKeyOf('acme'), receive_addresses: [ACME_ADDRESS], tokens: [TOKEN] },
      { id: 'globex', webhook_url: 'http://127.0.0.1:9/globex', webhook_secret: secretOf('globex'), api_key: apiKeyOf('globex'), receive_addresses: [GLOBEX_ADDRESS], tokens: [TOKEN, OTHER_TOKEN] },
    ],
  })
  store = await openStore(config, { logger: silentLogger() })
  server = await startHttpServer({ host: '127.0.0.1', port: 0, logger: silentLogger(), routes: invoiceRoutes({ config, store, logger: silentLogger() }) })
})
afterAll(async () => {
  await server.close()
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

type Reply = { status: number; body: any }
async function call(method: 'GET' | 'POST' | 'DELETE', path: string, options: { key?: string | null; authorization?: string; body?: string | object } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.authorization !== undefined) headers.authorization = options.authorization
  else if (options.key !== null) headers.authorization = `Bearer ${options.key ?? apiKeyOf('acme')}`
  const response = await got(`http://127.0.0.1:${server.port}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    throwHttpErrors: false,
    retry: { limit: 0 },
  })
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : null }
}
const create = (body: string | object, key?: string | null) => call('POST', '/v1/invoices', { body, key })
const valid = (overrides: Record<string, unknown> = {}) => ({ uuid: randomUUID(), token: TOKEN, amount: '1500000', ...overrides })

function expectError(reply: Reply, status: number, code: string, path?: string) {
  expect(reply.status).toBe(status)
  expect(reply.body.error.code).toBe(code)
  expect(typeof reply.body.error.message).toBe('string')
  if (path !== undefined) expect(reply.body.error.path).toBe(path)
}

describe('POST /v1/invoices and GET /v1/invoices/:uuid: the bad-input table, one row per test', () => {
  it('201: a valid invoice is created open', async () => {
    const body = valid({ receive_address: ACME_ADDRESS, payer: GLOBEX_ADDRESS, expires_at: '2099-01-01T00:00:00+02:00' })
    const reply = await create(body)
    expect(reply.status).toBe(201)
    expect(reply.body).toMatchObject({ uuid: body.uuid, merchant_id: 'acme', token: TOKEN, amount: '1500000', receive_address: ACME_ADDRESS, payer: GLOBEX_ADDRESS, expires_at: '2098-12-31T22:00:00.000Z', status: 'open', settlement: null })
  })

  it('200: the same uuid with the same body returns the stored invoice', async () => {
    const body = valid()
    const first = await create(body)
    const again = await create(body)
    expect(again.status).toBe(200)
    expect(again.body).toEqual(first.body)
  })

  it('200: the same request written differently (checksummed address, leading zeros, upper-case uuid) is the same request', async () => {
    const body = valid()
    await create(body)
    const again = await create({ ...body, uuid: body.uuid.toUpperCase(), token: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', amount: '0001500000' })
    expect(again.status).toBe(200)
  })

  it('409: the same uuid with a different body', async () => {
    const body = valid()
    await create(body)
    expectError(await create({ ...body, amount: '1500001' }), 409, 'conflict', 'uuid')
  })

  it('409: a uuid another merchant already used', async () => {
    const body = valid()
    await create(body)
    expectError(await create(body, apiKeyOf('globex')), 409, 'conflict', 'uuid')
  })

  it('401: no Authorization header', async () => expectError(await create(valid(), null), 401, 'unauthorized'))
  it('401: a wrong key', async () => expectError(await create(valid(), 'acme-api-key-wrong'), 401, 'unauthorized'))
  it('401: a scheme other than Bearer', async () => expectError(await call('POST', '/v1/invoices', { authorization: `Basic ${apiKeyOf('acme')}`, body: valid() }), 401, 'unauthorized'))
  it('400: a body that is not JSON', async () => expectError(await create('{"uuid": '), 400, 'invalid_json'))
  it('400: a body that is not an object', async () => expectError(await create('[1,2]'), 400, 'invalid_request'))
  it('400: a missing uuid', async () => expectError(await create({ token: TOKEN, amount: '1' }), 400, 'invalid_request', 'uuid'))
  it('400: a uuid that is not a UUID', async () => expectError(await create(valid({ uuid: 'invoice-1' })), 400, 'invalid_request', 'uuid'))
  it('400: an amount sent as a JSON number', async () => expectError(await create(valid({ amount: 1500000 })), 400, 'invalid_request', 'amount'))
  it('400: a zero amount', async () => expectError(await create(valid({ amount: '0' })), 400, 'invalid_request', 'amount'))
  it('400: a fractional amount', async () => expectError(await create(valid({ amount: '1.5' })), 400, 'invalid_request', 'amount'))
  it('400: a token that is not an address', async () => expectError(await create(valid({ token: '0xabc' })), 400, 'invalid_request', 'token'))
  it('400: an unknown field', async () => expectError(await create(valid({ amout: '1' })), 400, 'invalid_request', 'amout'))
  it('400: expires_at without a time zone', async () => expectError(await create(valid({ expires_at: '2099-01-01T00:00:00' })), 400, 'invalid_request', 'expires_at'))
  it('400: expires_at in the past', async () => expectError(await create(valid({ expires_at: '2001-01-01T00:00:00Z' })), 400, 'invalid_request', 'expires_at'))
  it('422: a token the merchant does not accept', async () => expectError(await create(valid({ token: OTHER_TOKEN })), 422, 'token_not_accepted', 'token'))
  it('422: a receive address the merchant does not own', async () => expectError(await create(valid({ receive_address: GLOBEX_ADDRESS })), 422, 'address_not_owned', 'receive_address'))

  it('413: a body over 64 KiB', async () => {
    const reply = await create({ ...valid(), padding: 'x'.repeat(70 * 1024) })
    expectError(reply, 413, 'payload_too_large')
  })

  it('404 and 401 on GET: another merchant\'s invoice is absent, an unknown one too, and a key is required', async () => {
    const body = valid()
    await create(body)
    expect((await call('GET', `/v1/invoices/${body.uuid}`)).status).toBe(200)
    expectError(await call('GET', `/v1/invoices/${body.uuid}`, { key: apiKeyOf('globex') }), 404, 'not_found')
    expectError(await call('GET', `/v1/invoices/${randomUUID()}`), 404, 'not_found')
    expectError(await call('GET', `/v1/invoices/${body.uuid}`, { key: null }), 401, 'unauthorized')
  })

  it('405 and 404: a wrong method or an unknown route', async () => {
    expectError(await call('DELETE', '/v1/invoices'), 405, 'method_not_allowed')
    expectError(await call('GET', '/v2/nothing'), 404, 'not_found')
  })

  it('never answers 500 and never stops, whatever the body (bounded random inputs)', async () => {
    const shapes: unknown[] = [null, 0, true, 'x', [], {}, { uuid: null }, { uuid: randomUUID(), token: null, amount: null }, { uuid: [], token: {}, amount: [] }, { uuid: randomUUID(), token: TOKEN, amount: '9'.repeat(100) }, { ['__proto__']: { polluted: true } }, { constructor: 1 }]
    for (let i = 0; i < 120; i++) {
      const raw = i < shapes.length ? JSON.stringify(shapes[i]) : Buffer.from(Array.from({ length: 1 + (i % 40) }, () => Math.floor(Math.random() * 256))).toString('latin1')
      const reply = await create(raw)
      expect(reply.status).toBeGreaterThanOrEqual(400)
      expect(reply.status).toBeLessThan(500)
    }
    expect((await create(valid())).status).toBe(201)
  })
})
