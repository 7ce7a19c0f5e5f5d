// The delivery floor: a bare got loop posting the same signed payloads at the same
// concurrency, with no outbox, no store, no breaker.
import got from 'got'
import pLimit from 'p-limit'
import { signWebhook } from '../../src/delivery/webhook-sender.ts'
import type { OutboxEntry } from '../../src/delivery/outbox-entry.ts'
import { worker } from '../lib.ts'

type Input = { urls: Record<string, string>; secrets: Record<string, string>; entries: OutboxEntry[]; concurrency: number }

worker<Input>(async (input) => {
  const limit = pLimit(input.concurrency)
  let delivered = 0
  const started = performance.now()
  await Promise.all(
    input.entries.map((entry) =>
      limit(async () => {
        const body = JSON.stringify(entry.payload)
        const response = await got.post(input.urls[entry.merchantId]!, { body, headers: signWebhook([input.secrets[entry.merchantId]!], entry.webhookId, body, new Date()), retry: { limit: 0 }, throwHttpErrors: false, timeout: { request: 10_000 } })
        if (response.statusCode < 300) delivered++
      }),
    ),
  )
  const elapsedMs = performance.now() - started
  if (delivered !== input.entries.length) throw new Error(`floor delivered ${delivered} of ${input.entries.length}`)
  return { elapsedMs, events: delivered }
})
