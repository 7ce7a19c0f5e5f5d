import type { OutboxEntry } from '../../src/delivery/outbox-entry.ts'

/** A pending outbox entry as the store keeps it, for tests that write stores by hand; fields overridable. */
export function pendingEntry(overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  const merchantId = overrides.merchantId ?? 'acme'
  const invoiceUuid = overrides.invoiceUuid === undefined ? 'b5c7e0a4-1d2e-4f3a-8b9c-0d1e2f3a4b5c' : overrides.invoiceUuid
  const createdAt = overrides.createdAt ?? '2026-01-01T00:00:00.000Z'
  return {
    webhookId: 'msg_test',
    merchantId,
    invoiceUuid,
    payload: {
      type: 'invoice.settled',
      timestamp: createdAt,
      data: {
        invoice_uuid: invoiceUuid,
        merchant_id: merchantId,
        chain_id: 31337,
        token: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
        from: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
        to: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
        amount: '1000',
        tx_hash: `0x${'ab'.repeat(32)}`,
        block_number: 12,
        block_hash: `0x${'cd'.repeat(32)}`,
        log_index: 0,
        confirmations: 1,
        providers: ['primary', 'secondary'],
        detected_at: createdAt,
        settled_at: createdAt,
      },
    },
    state: 'queued',
    attempts: 0,
    nextAttemptAt: 0,
    createdAt,
    firstAttemptAt: null,
    lastAttemptAt: null,
    lastError: null,
    ...overrides,
  }
}
