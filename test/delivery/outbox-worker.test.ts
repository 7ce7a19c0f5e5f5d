import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load.ts'
import { queuedOutboxEntry, type OutboxEntry } from '../../src/delivery/outbox-entry.ts'
import { foldDeadLetters } from '../../src/delivery/dead-letter.ts'
import { createOutboxWorker } from '../../src/delivery/outbox-worker.ts'
import { webhookId } from '../../src/delivery/webhook-id.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { readDeadLetterLines } from '../../src/store/dead-letter-file.ts'
import { openLowdbStore } from '../../src/store/lowdb/lowdb-store.ts'
import { openStore } from '../../src/store/open-store.ts'
import { lowdbFiles } from '../support/lowdb-files.ts'
import type { Store } from '../../src/store/store.ts'
import { apiKeyOf, eventually, secretOf } from '../support/daemon-harness.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

let dir: string
let store: Store
let receiver: WebhookReceiver
const EVENTS = 600

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settleproof-outbox-'))
  receiver = await startWebhookReceiver({ '/acme': secretOf('acme') })
  store = await openLowdbStore(lowdbFiles(join(dir, 'store.json')))
})
afterAll(async () => {
  await store.close()
  await receiver.close()
  await rm(dir, { recursive: true, force: true })
})

function unmatchedEntries(count: number, prefix: string): OutboxEntry[] {
  const at = new Date().toISOString()
  return Array.from({ length: count }, (_, i) =>
    queuedOutboxEntry({
      webhookId: webhookId('unmatched', `${prefix}-${i}`),
      merchantId: 'acme',
      invoiceUuid: null,
      type: 'payment.unmatched',
      at,
      data: { invoice_uuid: null, merchant_id: 'acme', chain_id: 1, token: '0x2222222222222222222222222222222222222222', from: '0x3333333333333333333333333333333333333333', to: '0x1111111111111111111111111111111111111111', amount: String(i + 1), tx_hash: `0x${(i + 1).toString(16).padStart(64, '0')}`, block_number: 1, block_hash: `0x${'0'.repeat(64)}`, log_index: i, confirmations: 1, providers: ['primary'], detected_at: at, settled_at: null },
    }),
  )
}

it('delivers a large queue exactly once per event when nothing fails, never more than the concurrency at once', async () => {
  const config = parseConfig({
    chain: { id: 1 },
    providers: [{ name: 'primary', url: 'http://127.0.0.1:9/' }],
    quorum: 1,
    storage: { path: join(dir, 'store.json') },
    dlq: { path: join(dir, 'dlq.jsonl') },
    // More slots than one batch of due entries (256), so a pass refills its queue while choosing.
    webhooks: { concurrency: 300 },
    merchants: [{ id: 'acme', webhook_url: `${receiver.url}/acme`, webhook_secret: secretOf('acme'), api_key: apiKeyOf('acme'), receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: ['0x2222222222222222222222222222222222222222'] }],
  })
  receiver.setBehaviour('/acme', { kind: 'ok', delayMs: 5 })
  const at = new Date().toISOString()
  const entries: OutboxEntry[] = Array.from({ length: EVENTS }, (_, i) =>
    queuedOutboxEntry({
      webhookId: webhookId('unmatched', `transfer-${i}`),
      merchantId: 'acme',
      invoiceUuid: null,
      type: 'payment.unmatched',
      at,
      data: { invoice_uuid: null, merchant_id: 'acme', chain_id: 1, token: '0x2222222222222222222222222222222222222222', from: '0x3333333333333333333333333333333333333333', to: '0x1111111111111111111111111111111111111111', amount: String(i + 1), tx_hash: `0x${(i + 1).toString(16).padStart(64, '0')}`, block_number: 1, block_hash: `0x${'0'.repeat(64)}`, log_index: i, confirmations: 1, providers: ['primary'], detected_at: at, settled_at: null },
    }),
  )
  await store.transact((tx) => entries.forEach((entry) => tx.putOutboxEntry(entry)))
  const worker = createOutboxWorker({ config, store, logger: silentLogger() })
  let inFlight = 0
  let peak = 0
  worker.onAttempt(() => inFlight--)
  const sampler = setInterval(() => {
    void store.read((r) => r.counts()).then((counts) => {
      inFlight = counts.outbox.in_flight
      peak = Math.max(peak, inFlight)
    })
  }, 1)
  void worker.start()
  try {
    await eventually(() => receiver.delivered('/acme').length >= EVENTS, 30_000, 'every event delivered')
    await eventually(async () => (await store.read((r) => r.counts())).outbox.delivered === EVENTS, 5_000, 'every delivery recorded')
  } finally {
    clearInterval(sampler)
    await worker.stop()
  }
  const ids = receiver.received.map((r) => r.webhookId)
  expect(ids).toHaveLength(EVENTS)
  expect(new Set(ids).size).toBe(EVENTS)
  expect(peak).toBeLessThanOrEqual(300)
  expect((await store.read((r) => r.counts())).outbox).toMatchObject({ queued: 0, in_flight: 0, retrying: 0, delivered: EVENTS })
})

it('an attempt the merchant breaker refuses is not counted: each dead letter says as many attempts as requests the endpoint got', async () => {
  const endpoint = await startWebhookReceiver({ '/acme': secretOf('acme') })
  const dlqPath = join(dir, 'refused-dlq.jsonl')
  const config = parseConfig({
    chain: { id: 1 },
    providers: [{ name: 'primary', url: 'http://127.0.0.1:9/' }],
    quorum: 1,
    storage: { path: join(dir, 'refused.json') },
    dlq: { path: dlqPath },
    breaker: { failure_threshold: 1, success_threshold: 1, open_ms: 50 },
    webhooks: { concurrency: 8, max_attempts: 2, initial_delay_ms: 1, max_delay_ms: 2, timeout_ms: 5_000 },
    merchants: [{ id: 'acme', webhook_url: `${endpoint.url}/acme`, webhook_secret: secretOf('acme'), api_key: apiKeyOf('acme'), receive_addresses: ['0x1111111111111111111111111111111111111111'], tokens: ['0x2222222222222222222222222222222222222222'] }],
  })
  const refusedStore = await openStore(config, { logger: silentLogger() })
  // The worker's clock, injected: the second event falls due when the test says so.
  let offsetMs = 0
  const now = () => Date.now() + offsetMs
  const [first, second] = unmatchedEntries(2, 'refused') as [OutboxEntry, OutboxEntry]
  const laterMs = 60_000
  await refusedStore.transact((tx) => {
    tx.putOutboxEntry(first)
    tx.putOutboxEntry({ ...second, nextAttemptAt: now() + laterMs })
  })
  endpoint.setBehaviour('/acme', { kind: 'held', status: 500 })
  const worker = createOutboxWorker({ config, store: refusedStore, logger: silentLogger(), now })
  void worker.start()
  try {
    await eventually(() => endpoint.received.length === 1, 10_000, 'the first event sent, its answer held')
    // The second event falls due and the worker chooses it (the breaker is still closed) in the
    // same turn as the first one's 500 is answered: the breaker opens while the second is
    // being marked in flight, and refuses it.
    offsetMs = laterMs
    endpoint.setBehaviour('/acme', { kind: 'status', status: 500 })
    endpoint.release()
    worker.wake()
    await eventually(async () => foldDeadLetters(await readDeadLetterLines(dlqPath)).length === 2, 20_000, 'both dead-lettered')
  } finally {
    await worker.stop()
    await refusedStore.close()
    await endpoint.close()
  }
  const letters = foldDeadLetters(await readDeadLetterLines(dlqPath))
  const received = (id: string) => endpoint.received.filter((r) => r.webhookId === id).length
  expect(letters.map((l) => ({ id: l.webhook_id, attempts: l.attempts }))).toEqual(letters.map((l) => ({ id: l.webhook_id, attempts: received(l.webhook_id) })))
  // The retry budget went on requests only: each got its 2.
  expect(letters.map((l) => l.attempts)).toEqual([2, 2])
})
