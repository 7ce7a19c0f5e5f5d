import type { DeadLetter, ReplayMark } from '../../src/delivery/dead-letter.ts'

/** A dead letter as the outbox writes one; `overrides` change what a test is about. */
export function testDeadLetter(webhookId: string, deadAt: string, overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    kind: 'dead_letter',
    webhook_id: webhookId,
    merchant_id: 'm1',
    url: 'https://merchant.example/hooks',
    type: 'invoice.settled',
    payload: {
      type: 'invoice.settled',
      timestamp: '2030-01-01T00:00:00.000Z',
      data: {
        invoice_uuid: '123e4567-e89b-42d3-a456-426614174000',
        merchant_id: 'm1',
        chain_id: 31337,
        token: `0x${'a'.repeat(40)}`,
        from: `0x${'b'.repeat(40)}`,
        to: `0x${'c'.repeat(40)}`,
        amount: '1000',
        tx_hash: `0x${'d'.repeat(64)}`,
        block_number: 12,
        block_hash: `0x${'e'.repeat(64)}`,
        log_index: 0,
        confirmations: 3,
        providers: ['a', 'b'],
        detected_at: '2030-01-01T00:00:00.000Z',
        settled_at: '2030-01-01T00:00:00.000Z',
      },
    },
    attempts: 8,
    first_attempt_at: '2030-01-01T00:00:01.000Z',
    last_attempt_at: '2030-01-01T01:00:00.000Z',
    last_error: 'HTTP 500',
    dead_at: deadAt,
    ...overrides,
  }
}

/** The line a replay appends once it delivered `webhookId`. */
export function testReplayMark(webhookId: string, replayedAt: string, status = 200): ReplayMark {
  return { kind: 'replayed', webhook_id: webhookId, replayed_at: replayedAt, status }
}
