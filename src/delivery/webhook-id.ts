import { createHash } from 'node:crypto'

/**
 * The `webhook-id` (and `idempotency-key`) of an event. Derived, not random, so that the
 * same event re-derived after a crash or a re-read gets the same id: for a settlement from
 * `invoice_uuid + tx_hash` (SPEC §7).
 */
export function webhookId(kind: 'settled' | 'reverted', invoiceUuid: string, txHash: string): string
export function webhookId(kind: 'unmatched', transferIdentity: string): string
export function webhookId(kind: 'settled' | 'reverted' | 'unmatched', ...parts: string[]): string {
  const digest = createHash('sha256').update([kind, ...parts.map((p) => p.toLowerCase())].join('\n')).digest('hex')
  return `msg_${digest.slice(0, 32)}`
}
