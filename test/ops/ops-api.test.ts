import { randomUUID } from 'node:crypto'
import got, { type Method } from 'got'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importMapHash } from '../../src/ops/console-security-headers.ts'
import { apiKeyOf, daemonDocument, eventually, merchantAddress, secretOf, startMerchantWorld, startTestDaemon, type DaemonUnderTest, type MerchantWorld } from '../support/daemon-harness.ts'

/** The operator API of SPEC §11 on a whole daemon: a real anvil chain, three providers (one down), a merchant endpoint that is gone and one that fails. */
const OPERATOR_TOKEN = 'ops-token-Jf83kdLq0sPz'

let world: MerchantWorld
let d: DaemonUnderTest
/** Every answer the tests received, to look for secrets in at the end. */
const answers: string[] = []

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: any; text: string }
async function call(method: Method, path: string, options: { token?: string | null; authorization?: string; json?: unknown; port?: number } = {}): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (options.authorization !== undefined) headers.authorization = options.authorization
  else if (options.token !== null) headers.authorization = `Bearer ${options.token ?? OPERATOR_TOKEN}`
  const response = await got(`http://127.0.0.1:${options.port ?? d.daemon.server.port}${path}`, {
    method,
    headers,
    ...(options.json === undefined ? {} : { json: options.json }),
    throwHttpErrors: false,
    retry: { limit: 0 },
    followRedirect: false,
  })
  answers.push(response.body, JSON.stringify(response.headers))
  let body: unknown = null
  try {
    body = JSON.parse(response.body)
  } catch {
    body = null
  }
  return { status: response.statusCode, headers: response.headers, body, text: response.body }
}

let acmeInvoice: string
let globexInvoice: string

beforeAll(async () => {
  world = await startMerchantWorld()
  const { chain, receiver } = world
  chain.proxies[2]!.setFault({ kind: 'down' })
  receiver.setBehaviour('/acme', { kind: 'gone-once' }) // dead-lettered at once; a replay is delivered
  receiver.setBehaviour('/globex', { kind: 'status', status: 503 }) // retried, in a minute
  d = await startTestDaemon(
    daemonDocument(chain, receiver, chain.dir, {
      server: { host: '127.0.0.1', port: 0, operator_token: OPERATOR_TOKEN },
      breaker: { failure_threshold: 2, success_threshold: 1, open_ms: 600_000 },
      webhooks: { max_attempts: 5, initial_delay_ms: 60_000, max_delay_ms: 60_000, timeout_ms: 5_000, concurrency: 8, drain_timeout_ms: 2_000 },
    }),
    { random: () => 1 }, // full jitter pinned to its cap: a failed attempt waits the whole minute
  )
  acmeInvoice = randomUUID()
  globexInvoice = randomUUID()
  expect((await d.api('acme').post('invoices', { json: { uuid: acmeInvoice, token: chain.token.address, amount: '1000' } })).statusCode).toBe(201)
  expect((await d.api('globex').post('invoices', { json: { uuid: globexInvoice, token: chain.token.address, amount: '2000' } })).statusCode).toBe(201)
  await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 1000n)
  await chain.token.transfer(chain.payer, merchantAddress(chain, 'globex'), 2000n)
  await eventually(async () => (await call('GET', '/v1/ops/dead-letters')).body?.total === 1, 30_000, 'acme\'s event dead-lettered')
  await eventually(async () => (await call('GET', '/v1/ops/outbox?status=retrying')).body?.entries?.length === 1, 30_000, 'globex\'s event retrying')
})
afterAll(async () => {
  await d?.stop()
  await world?.close()
})

const ROUTES: [Method, string][] = [
  ['GET', '/v1/ops/status'],
  ['GET', '/v1/ops/lag'],
  ['GET', '/v1/ops/outbox'],
  ['GET', '/v1/ops/merchants'],
  ['GET', '/v1/ops/dead-letters'],
  ['POST', '/v1/ops/dead-letters/replay'],
  ['GET', `/v1/ops/invoices/${randomUUID()}`],
]

describe('the operator API (/v1/ops/) on a running daemon', () => {
  it('answers 401 on every route without the operator token, with a wrong one, or with another scheme, and runs nothing', async () => {
    const before = world.receiver.received.length
    for (const [method, path] of ROUTES) {
      for (const options of [{ token: null }, { token: 'ops-token-Jf83kdLq0sPy' }, { token: apiKeyOf('acme') }, { authorization: `Basic ${OPERATOR_TOKEN}` }, { authorization: OPERATOR_TOKEN }]) {
        const answer = await call(method, path, { ...options, ...(method === 'POST' ? { json: { all: true } } : {}) })
        expect(answer.status, `${method} ${path} ${JSON.stringify(options)}`).toBe(401)
        expect(answer.body.error).toMatchObject({ code: 'unauthorized', path: null })
        expect(answer.headers['www-authenticate']).toBe('Bearer realm="settleproof-ops"')
        expect(answer.headers['cache-control']).toBe('no-store')
      }
    }
    expect(world.receiver.received.length).toBe(before) // the refused replay sent nothing
  })

  it('status: the chain position and each provider as /diagnostics shows it, the one that is down with its breaker open', async () => {
    await eventually(async () => (await call('GET', '/v1/ops/status')).body.providers.find((p: any) => p.name === 'tertiary').breaker_state === 'open', 30_000, 'tertiary\'s breaker open')
    const { body } = await call('GET', '/v1/ops/status')
    expect(body).toMatchObject({ chain_id: world.chain.anvil.chainId, quorum: 2, cluster: null, invoices: { settled: 2 } })
    expect(body.checkpoint).toBeGreaterThan(0)
    expect(body.lag).toBeGreaterThanOrEqual(0)
    expect(body.providers.map((p: any) => p.name)).toEqual(['primary', 'secondary', 'tertiary'])
    const tertiary = body.providers.find((p: any) => p.name === 'tertiary')
    expect(tertiary).toMatchObject({ breaker_state: 'open', disagreements: expect.any(Number) })
    expect(tertiary.consecutive_failures).toBeGreaterThanOrEqual(2)
    expect(tertiary.half_open_in_ms).toBeGreaterThan(0)
    expect(tertiary.last_error).toEqual(expect.any(String))
    expect(body.providers.find((p: any) => p.name === 'primary')).toMatchObject({ breaker_state: 'closed', consecutive_failures: 0 })
  })

  it('lag: the samples of the last hour, oldest first, following the checkpoint', async () => {
    const { body } = await call('GET', '/v1/ops/lag')
    expect(body).toMatchObject({ window_ms: 3_600_000, interval_ms: 2_000 })
    expect(body.samples.length).toBeGreaterThan(0)
    const ats = body.samples.map((s: any) => s.at)
    expect(ats).toEqual([...ats].sort((a, b) => a - b))
    expect(body.samples.at(-1)).toMatchObject({ checkpoint: expect.any(Number), head: expect.any(Number), lag: expect.any(Number) })
  })

  it('outbox: the pending events with filters and paging, each with its attempts, next attempt and last error', async () => {
    const all = await call('GET', '/v1/ops/outbox')
    expect(all.status).toBe(200)
    expect(all.body.entries).toEqual([
      expect.objectContaining({ merchant_id: 'globex', type: 'invoice.settled', invoice_uuid: globexInvoice, state: 'retrying', attempts: 1, last_error: 'HTTP 503', next_attempt_at: expect.any(String) }),
    ])
    expect(Date.parse(all.body.entries[0].next_attempt_at)).toBeGreaterThan(Date.now() + 10_000)
    expect(all.body.next_cursor).toBeNull()
    expect((await call('GET', '/v1/ops/outbox?status=queued,in_flight')).body.entries).toEqual([])
    expect((await call('GET', '/v1/ops/outbox?status=retrying&merchant=globex')).body.entries).toHaveLength(1)
    expect((await call('GET', '/v1/ops/outbox?merchant=acme')).body.entries).toEqual([])
    for (const [query, path] of [['status=dead', 'status'], ['limit=0', 'limit'], ['cursor=nope', 'cursor'], ['page=2', 'page'], ['merchant=a%20b', 'merchant']]) {
      const answer = await call('GET', `/v1/ops/outbox?${query}`)
      expect(answer.status, query).toBe(400)
      expect(answer.body.error).toMatchObject({ code: 'invalid_request', path })
    }
  })

  it('merchants: each endpoint\'s breaker, pending events, attempts since start and dead letters', async () => {
    const { body } = await call('GET', '/v1/ops/merchants')
    const byId = Object.fromEntries(body.merchants.map((m: any) => [m.id, m]))
    expect(byId.acme).toMatchObject({ breaker_state: 'closed', pending: 0, dead_letters: 1, dead_letters_not_replayed: 1, attempts_since_start: { dead: 1 } })
    expect(byId.globex).toMatchObject({ pending: 1, dead_letters: 0, attempts_since_start: { retrying: 1, delivered: 0 } })
  })

  it('invoice by uuid: any merchant\'s, with its settlement; an unknown one is 404', async () => {
    const found = await call('GET', `/v1/ops/invoices/${globexInvoice.toUpperCase()}`)
    expect(found.status).toBe(200)
    expect(found.body).toMatchObject({ uuid: globexInvoice, merchant_id: 'globex', status: 'settled', settlement: { tx_hash: expect.any(String) } })
    const missing = await call('GET', `/v1/ops/invoices/${randomUUID()}`)
    expect(missing.status).toBe(404)
    expect(missing.body.error).toMatchObject({ code: 'not_found', path: 'uuid' })
  })

  it('dead letters and replay: as `dlq replay` does it, the original webhook-id delivered once and the letter marked replayed', async () => {
    const listed = await call('GET', '/v1/ops/dead-letters')
    expect(listed.body).toMatchObject({ total: 1, not_replayed: 1 })
    const [letter] = listed.body.dead_letters
    expect(letter).toMatchObject({ merchant_id: 'acme', type: 'invoice.settled', replayed_at: null, last_error: expect.stringMatching(/^HTTP 410/) })

    for (const json of [{}, { ids: [] }, { ids: [letter.webhook_id], all: true }, { all: false }, { id: letter.webhook_id }]) {
      const refused = await call('POST', '/v1/ops/dead-letters/replay', { json })
      expect(refused.status, JSON.stringify(json)).toBe(400)
      expect(refused.body.error.code).toBe('invalid_request')
    }
    expect(world.receiver.received.filter((r) => r.webhookId === letter.webhook_id)).toHaveLength(1) // only the 410

    const replayed = await call('POST', '/v1/ops/dead-letters/replay', { json: { ids: [letter.webhook_id, 'msg_unknown'] } })
    expect(replayed.status).toBe(200)
    expect(replayed.body.outcomes).toEqual([
      { webhook_id: letter.webhook_id, result: 'replayed', status: 200, merchant_id: 'acme', type: 'invoice.settled', invoice_uuid: acmeInvoice },
      { webhook_id: 'msg_unknown', result: 'skipped', reason: 'no dead letter with this id' },
    ])
    const deliveries = world.receiver.delivered('/acme').filter((r) => r.webhookId === letter.webhook_id)
    expect(deliveries).toHaveLength(1)
    expect(deliveries[0]).toMatchObject({ verified: true, idempotencyKey: letter.webhook_id, payload: { type: 'invoice.settled', data: { invoice_uuid: acmeInvoice } } })

    const after = await call('GET', '/v1/ops/dead-letters')
    expect(after.body).toMatchObject({ total: 1, not_replayed: 0 })
    expect(after.body.dead_letters[0].replayed_at).toEqual(expect.any(String))
    expect((await call('POST', '/v1/ops/dead-letters/replay', { json: { all: true } })).body.outcomes).toEqual([])
    expect((await call('POST', '/v1/ops/dead-letters/replay', { json: { ids: [letter.webhook_id] } })).body.outcomes).toEqual([
      { webhook_id: letter.webhook_id, result: 'skipped', reason: expect.stringMatching(/^already replayed at /) },
    ])
    expect(world.receiver.delivered('/acme').filter((r) => r.webhookId === letter.webhook_id)).toHaveLength(1)
    // The daemon records the replay in the store (its DLQ reconciler), as for `dlq replay`.
    await eventually(async () => (await call('GET', '/v1/ops/status')).body.deliveries.dead === 0, 20_000, 'the replay counted as delivered')
  })

  it('the console page: served with a strict Content-Security-Policy that allows its import map by hash and nothing inline', async () => {
    const page = await call('GET', '/console', { token: null })
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain(`script-src 'self' '${importMapHash(page.text)}'`)
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
    expect(csp).toContain("frame-ancestors 'none'")
    expect(page.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' })
    expect(page.text).not.toMatch(/<script(?![^>]*type="importmap")(?![^>]*\bsrc=)[^>]*>/) // every other script is a file
    expect(page.text).not.toMatch(/\sstyle=/)
    for (const path of ['/console/app.js', '/console/vendor/preact.mjs', '/console/vendor/preact-hooks.mjs', '/console/vendor/htm.mjs', '/console/vendor/uplot.mjs']) {
      const file = await call('GET', path, { token: null })
      expect(file.status, path).toBe(200)
      expect(file.headers['content-type']).toBe('text/javascript; charset=utf-8')
      expect(file.headers['content-security-policy']).toBe(csp)
    }
    expect((await call('GET', '/console/uplot.css', { token: null })).status).toBe(404)
    expect((await call('GET', '/console/../package.json', { token: null })).status).toBe(404)
    const slash = await call('GET', '/console/', { token: null })
    expect(slash.status).toBe(308)
    expect(slash.headers.location).toBe('../console')
    expect((await call('POST', '/console', { token: null })).status).toBe(405)
  })

  it('never answers a secret or a provider URL', () => {
    const text = answers.join('\n')
    for (const secret of [OPERATOR_TOKEN, secretOf('acme'), secretOf('globex'), apiKeyOf('acme'), apiKeyOf('globex'), ...world.chain.proxies.map((p) => p.url)]) {
      expect(text.includes(secret), secret).toBe(false)
    }
    expect(text).toContain(`${world.receiver.url}/acme`) // the webhook URL itself is no secret: dead letters show where they went
  })
})

describe('without server.operator_token', () => {
  it('the console and every operator route answer 404, like any unknown path', async () => {
    const plain = await startTestDaemon(daemonDocument(world.chain, world.receiver, world.chain.dir, { storage: { path: `${world.chain.dir}/other-store.json` }, dlq: { path: `${world.chain.dir}/other-dlq.jsonl` } }))
    try {
      for (const [method, path] of [...ROUTES, ['GET', '/console'] as [Method, string], ['GET', '/console/app.js'] as [Method, string]]) {
        const answer = await call(method, path, { port: plain.daemon.server.port, ...(method === 'POST' ? { json: { all: true } } : {}) })
        expect(answer.status, path).toBe(404)
        expect(answer.body.error.code).toBe('not_found')
      }
    } finally {
      await plain.stop()
    }
  })
})
