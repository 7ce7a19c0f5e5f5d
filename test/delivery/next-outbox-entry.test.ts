import { describe, expect, it } from 'vitest'
import { nextOutboxEntry, type OutboxStep } from '../../src/delivery/next-outbox-entry.ts'
import { queuedOutboxEntry, type OutboxEntry } from '../../src/delivery/outbox-entry.ts'

const T0 = Date.parse('2026-01-01T00:00:00.000Z')
const NOW = T0 + 5_000
const iso = (ms: number) => new Date(ms).toISOString()

const queued: OutboxEntry = queuedOutboxEntry({
  webhookId: 'msg_1',
  merchantId: 'acme',
  invoiceUuid: null,
  type: 'payment.unmatched',
  at: iso(T0),
  data: { invoice_uuid: null, merchant_id: 'acme', chain_id: 1, token: '0x2222222222222222222222222222222222222222', from: '0x3333333333333333333333333333333333333333', to: '0x1111111111111111111111111111111111111111', amount: '1', tx_hash: `0x${'1'.padStart(64, '0')}`, block_number: 1, block_hash: `0x${'0'.repeat(64)}`, log_index: 0, confirmations: 1, providers: ['primary'], detected_at: iso(T0), settled_at: null },
})
/** Waiting for its third attempt after two failures. */
const retrying: OutboxEntry = { ...queued, state: 'retrying', attempts: 2, nextAttemptAt: NOW - 10, firstAttemptAt: iso(T0 + 1_000), lastAttemptAt: iso(T0 + 3_000), lastError: 'HTTP 500' }
const inFlight: OutboxEntry = { ...retrying, state: 'in_flight', attempts: 3, lastAttemptAt: iso(NOW - 100) }

describe('nextOutboxEntry', () => {
  it.each<[string, OutboxEntry, OutboxStep, Partial<OutboxEntry>]>([
    ['start, first attempt: in flight, counted, first and last attempt now', queued, { kind: 'start' }, { state: 'in_flight', attempts: 1, firstAttemptAt: iso(NOW), lastAttemptAt: iso(NOW), nextAttemptAt: 0 }],
    ['start, a retry: in flight, counted, first attempt kept', retrying, { kind: 'start' }, { state: 'in_flight', attempts: 3, firstAttemptAt: iso(T0 + 1_000), lastAttemptAt: iso(NOW), lastError: 'HTTP 500' }],
    ['delivered', inFlight, { kind: 'delivered' }, { state: 'delivered', attempts: 3, lastError: null }],
    ['retry: due after the decided delay', inFlight, { kind: 'retry', delayMs: 400, reason: 'timed out' }, { state: 'retrying', attempts: 3, nextAttemptAt: NOW + 400, lastError: 'timed out' }],
    ['dead', inFlight, { kind: 'dead', reason: 'HTTP 410 Gone' }, { state: 'dead', attempts: 3, lastError: 'HTTP 410 Gone' }],
    ['refused, never attempted: still queued, not counted, due when the breaker lets a probe through', queued, { kind: 'refused', probeAt: NOW + 800 }, { state: 'queued', attempts: 0, firstAttemptAt: null, lastAttemptAt: null, nextAttemptAt: NOW + 800, lastError: null }],
    ['refused, a retry: still retrying with its attempts, last attempt and error unchanged', retrying, { kind: 'refused', probeAt: NOW + 800 }, { state: 'retrying', attempts: 2, firstAttemptAt: iso(T0 + 1_000), lastAttemptAt: iso(T0 + 3_000), lastError: 'HTTP 500', nextAttemptAt: NOW + 800 }],
    ['refused with the probe already due: waits no longer than it already did', { ...retrying, nextAttemptAt: NOW + 2_000 }, { kind: 'refused', probeAt: NOW - 1 }, { state: 'retrying', attempts: 2, nextAttemptAt: NOW + 2_000 }],
  ])('%s', (_label, entry, step, expected) => {
    const next = nextOutboxEntry(entry, step, NOW)
    expect(next).toMatchObject(expected)
    expect({ webhookId: next.webhookId, payload: next.payload, createdAt: next.createdAt }).toEqual({ webhookId: entry.webhookId, payload: entry.payload, createdAt: entry.createdAt })
  })

  it('never changes the entry it is given', () => {
    const copy = structuredClone(retrying)
    nextOutboxEntry(retrying, { kind: 'start' }, NOW)
    nextOutboxEntry(retrying, { kind: 'refused', probeAt: NOW + 1 }, NOW)
    expect(retrying).toEqual(copy)
  })
})
