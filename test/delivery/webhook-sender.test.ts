import { afterAll, beforeAll, expect, it } from 'vitest'
import { MAX_ANSWER_BODY_BYTES, sendWebhook } from '../../src/delivery/webhook-sender.ts'
import type { WebhookPayload } from '../../src/delivery/webhook-payload.ts'
import { eventually, secretOf } from '../support/daemon-harness.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

let receiver: WebhookReceiver
const BODY_BYTES = 200 * 1024 * 1024
/** Far below the body, far above what the loopback socket buffers may hold once the client stops reading. */
const SENT_BOUND = 32 * 1024 * 1024

beforeAll(async () => {
  receiver = await startWebhookReceiver({ '/acme': secretOf('acme') })
})
afterAll(async () => {
  await receiver.close()
})

const payload: WebhookPayload = {
  type: 'payment.unmatched',
  timestamp: new Date(0).toISOString(),
  data: { invoice_uuid: null, merchant_id: 'acme', chain_id: 1, token: '0x2222222222222222222222222222222222222222', from: '0x3333333333333333333333333333333333333333', to: '0x1111111111111111111111111111111111111111', amount: '1', tx_hash: `0x${'1'.padStart(64, '0')}`, block_number: 1, block_hash: `0x${'0'.repeat(64)}`, log_index: 0, confirmations: 1, providers: ['primary'], detected_at: new Date(0).toISOString(), settled_at: null },
}

async function sendTo(webhookId: string) {
  // A generous timeout: the old sender read the whole body within it.
  return sendWebhook({ url: `${receiver.url}/acme`, secrets: [secretOf('acme')], webhookId, payload, timeoutMs: 30_000 })
}

for (const [label, behaviour, expected] of [
  ['200 with a 200 MB body is a delivery', { kind: 'huge-body', status: 200, bodyBytes: BODY_BYTES }, { status: 200 }],
  ['503 with Retry-After and a 200 MB body keeps its status and Retry-After', { kind: 'huge-body', status: 503, bodyBytes: BODY_BYTES, retryAfter: '7' }, { status: 503, retryAfter: '7' }],
] as const) {
  it(`${label}; the body is not read: the connection is closed after a few KiB`, async () => {
    receiver.setBehaviour('/acme', behaviour)
    const webhookId = `msg_${label.length}_${behaviour.status}`
    const result = await sendTo(webhookId)
    expect(result).toMatchObject(expected)
    const request = receiver.received.find((r) => r.webhookId === webhookId)!
    expect(request.verified).toBe(true)
    await eventually(() => request.answered !== undefined, 5_000, 'the answer started')
    await request.answered
    // The receiver stopped because the client closed the connection, long before the body's end.
    expect(request.bodyBytesSent!).toBeLessThan(SENT_BOUND)
  })
}

it(`reads a small body to its end (at most ${MAX_ANSWER_BODY_BYTES} bytes are read of any answer)`, async () => {
  receiver.setBehaviour('/acme', { kind: 'huge-body', status: 200, bodyBytes: 1_000 })
  const result = await sendTo('msg_small_body')
  expect(result).toEqual({ status: 200, retryAfter: undefined })
  const request = receiver.received.find((r) => r.webhookId === 'msg_small_body')!
  await request.answered
  expect(request.bodyBytesSent).toBe(1_000)
})
