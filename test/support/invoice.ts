import type { Invoice } from '../../src/settlement/invoice.ts'

/** An open invoice as the store keeps it, for tests that write stores by hand; fields overridable. */
export function openInvoice(overrides: Partial<Invoice> = {}): Invoice {
  return {
    uuid: 'b5c7e0a4-1d2e-4f3a-8b9c-0d1e2f3a4b5c',
    merchantId: 'acme',
    token: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
    amount: '1000',
    receiveAddress: null,
    payer: null,
    expiresAt: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    status: 'open',
    requestHash: 'x',
    settlement: null,
    delivery: null,
    reverted: [],
    ...overrides,
  }
}
