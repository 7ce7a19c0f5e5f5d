import { randomUUID } from 'node:crypto'
import got from 'got'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { daemonDocument, eventually, merchantAddress, startTestDaemon, type DaemonUnderTest, startMerchantWorld, type MerchantWorld } from '../support/daemon-harness.ts'
import type { ChainFixture } from '../support/reader-harness.ts'
import type { WebhookReceiver } from '../support/webhook-receiver.ts'
import { promtoolCheckMetrics } from '../support/system-tool.ts'
import { sample } from '../support/metrics-text.ts'

let world: MerchantWorld
let chain: ChainFixture
let receiver: WebhookReceiver
let d: DaemonUnderTest
const OPEN_MS = 700

beforeAll(async () => {
  world = await startMerchantWorld()
  ;({ chain, receiver } = world)
  chain.proxies[2]!.setFault({ kind: 'lie', lie: 'amount' })
  d = await startTestDaemon(daemonDocument(chain, receiver, chain.dir, { breaker: { failure_threshold: 5, success_threshold: 2, open_ms: OPEN_MS } }))
})
afterAll(async () => {
  await d.stop()
  await world.close()
})

const http = (path: string) => got(`http://127.0.0.1:${d.daemon.server.port}${path}`, { throwHttpErrors: false, retry: { limit: 0 } })
const SPEC_METRICS = [
  'settleproof_rpc_request_duration_seconds',
  'settleproof_rpc_requests_total',
  'settleproof_circuit_breaker_state',
  'settleproof_circuit_breaker_transitions_total',
  'settleproof_quorum_rounds_total',
  'settleproof_quorum_failures_total',
  'settleproof_quorum_disagreements_total',
  'settleproof_last_processed_block',
  'settleproof_chain_head_block',
  'settleproof_duplicate_events_dropped_total',
  'settleproof_invoices_settled_total',
  'settleproof_invoice_verification_latency_seconds',
  'settleproof_webhook_deliveries_total',
  'settleproof_webhook_dlq_total',
  'settleproof_webhook_queue_depth',
  'settleproof_reorgs_total',
]

describe('/metrics', () => {
  it('exposes every SPEC metric with bounded labels, counts what happened, and passes promtool check metrics', async () => {
    const uuid = randomUUID()
    await d.api('acme').post('invoices', { json: { uuid, token: chain.token.address, amount: '31000000' } })
    await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 31_000_000n)
    await eventually(() => receiver.delivered('/acme').some((r) => r.payload.data.invoice_uuid === uuid), 15_000, 'delivery')
    // The daemon counts a delivery once it has recorded it, a moment after the merchant answered.
    await eventually(async () => sample((await http('/metrics')).body, 'settleproof_webhook_deliveries_total', { merchant: 'acme', outcome: 'delivered' }) === 1, 5_000, 'delivery recorded')

    const response = await http('/metrics')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toContain('text/plain')
    const text = response.body
    for (const name of SPEC_METRICS) expect(text).toContain(`# TYPE ${name} `)
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter')
    expect(sample(text, 'settleproof_invoices_settled_total', { merchant: 'acme' })).toBe(1)
    expect(sample(text, 'settleproof_webhook_deliveries_total', { merchant: 'acme', outcome: 'delivered' })).toBe(1)
    expect(sample(text, 'settleproof_quorum_disagreements_total', { provider: 'tertiary' })).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'settleproof_quorum_disagreements_total', { provider: 'primary' })).toBe(0)
    expect(sample(text, 'settleproof_last_processed_block')).toBe(d.daemon.reader.status().checkpoint)
    expect(sample(text, 'settleproof_invoice_verification_latency_seconds_count')).toBe(1)
    expect(sample(text, 'settleproof_rpc_requests_total', { provider: 'primary', method: 'eth_getLogs', outcome: 'ok' })).toBeGreaterThan(0)
    // No unbounded label: no hash, no invoice id, no URL anywhere in the exposition.
    expect(text).not.toMatch(/0x[0-9a-f]{64}/)
    expect(text).not.toContain(uuid)
    expect(text).not.toMatch(/https?:\/\//)

    const check = await promtoolCheckMetrics(text)
    expect(check.output).toBe('')
    expect(check.code).toBe(0)
  })
})

describe('/healthz, /readyz, /diagnostics', () => {
  it('is live and ready with three providers; not ready (503, with the reason) when two breakers are open; ready again after they recover', async () => {
    expect((await http('/healthz')).statusCode).toBe(200)
    expect(JSON.parse((await http('/readyz')).body)).toMatchObject({ status: 'ready' })

    chain.proxies[0]!.setFault({ kind: 'down' })
    chain.proxies[1]!.setFault({ kind: 'status', status: 503 })
    await eventually(async () => (await http('/readyz')).statusCode === 503, 10_000, 'not ready')
    const notReady = JSON.parse((await http('/readyz')).body)
    expect(notReady.reasons.join(' ')).toMatch(/1 of 3 providers usable, quorum needs 2: primary \(breaker open\), secondary \(breaker open\)/)
    expect((await http('/healthz')).statusCode).toBe(200)

    const diagnostics = JSON.parse((await http('/diagnostics')).body)
    const primary = diagnostics.providers.find((p: { name: string }) => p.name === 'primary')
    expect(primary).toMatchObject({ breaker_state: 'open', consecutive_failures: expect.any(Number), last_error: expect.stringContaining('connection failed') })
    expect(primary.half_open_in_ms).toBeGreaterThan(0)
    expect(primary.half_open_in_ms).toBeLessThanOrEqual(OPEN_MS)
    expect(diagnostics).toMatchObject({ checkpoint: expect.any(Number), head: expect.any(Number), lag: expect.any(Number), deliveries: expect.any(Object), queue_depth: expect.any(Object) })
    expect(JSON.stringify(diagnostics)).not.toContain(chain.proxies[0]!.url)
    const metrics = (await http('/metrics')).body
    expect(sample(metrics, 'settleproof_circuit_breaker_state', { provider: 'primary' })).toBe(1)
    expect(sample(metrics, 'settleproof_circuit_breaker_transitions_total', { provider: 'primary', to: 'open' })).toBeGreaterThanOrEqual(1)
    expect(sample(metrics, 'settleproof_quorum_failures_total')).toBeGreaterThan(0)

    chain.proxies[0]!.setFault({ kind: 'none' })
    chain.proxies[1]!.setFault({ kind: 'none' })
    await eventually(async () => (await http('/readyz')).statusCode === 200, 15_000, 'ready again')
    await eventually(() => d.daemon.reader.status().providers.every((p) => p.state === 'closed'), 10_000, 'breakers closed')
    expect(sample((await http('/metrics')).body, 'settleproof_circuit_breaker_transitions_total', { provider: 'primary', to: 'closed' })).toBeGreaterThanOrEqual(1)
  })
})
