import { describe, expect, it } from 'vitest'
import { transferIdentity, type AcceptedLog } from '../../src/chain/log.ts'
import type { MerchantConfig } from '../../src/config/schema.ts'
import { webhookId } from '../../src/delivery/webhook-id.ts'
import type { Invoice } from '../../src/settlement/invoice.ts'
import { settleLogs, settlementKeys, transferIdentities, type SettleLogsParameters, type SettleLogsResult } from '../../src/settlement/settle-logs.ts'
import { openInvoiceKey, type ProcessedTransfer } from '../../src/store/store.ts'
import { testConfig } from '../support/config.ts'
import { openInvoice } from '../support/invoice.ts'
import { MERCHANT_ADDRESS as ACME, OTHER_TOKEN, PAYER, STRANGER, TEST_TOKEN as TOKEN, transferLog as transfer } from '../support/transfer-log.ts'

const NOW_MS = Date.parse('2030-01-01T00:10:00.000Z')
const NOW = new Date(NOW_MS).toISOString()

const config = testConfig({ chainId: 31337, providerUrls: ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'], token: TOKEN, receiveAddresses: [ACME], storagePath: '/nonexistent/store.json' })
const owners = new Map<string, MerchantConfig>(config.merchants.flatMap((m) => m.receive_addresses.map((a) => [a, m] as const)))

const invoice = (n: number, overrides: Partial<Invoice> = {}) =>
  openInvoice({ uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, token: TOKEN, amount: '500', createdAt: `2030-01-01T00:0${n}:00.000Z`, ...overrides })

type Case = {
  logs: AcceptedLog[]
  /** Open invoices the store holds (grouped by key as `openInvoices` answers). */
  open?: Invoice[]
  /** Processed records the store holds, by the log whose identity they belong to. */
  processed?: [AcceptedLog, ProcessedTransfer[]][]
  /** Settled webhook ids the outbox holds already. */
  existing?: string[]
  /** Per log, in order: what became of it. */
  outcomes: string[]
  /** Invoices settled, with the log (index in `logs`) that settled each. */
  settled?: [invoice: number, log: number][]
  /** The processed records put, by the index of a log of that identity. */
  records?: [log: number, records: ProcessedTransfer[]][]
}

function decide(c: Case, overrides: Partial<SettleLogsParameters> = {}): SettleLogsResult {
  const openInvoices = new Map<string, Invoice[]>()
  for (const inv of c.open ?? []) {
    const key = openInvoiceKey(inv)
    openInvoices.set(key, [...(openInvoices.get(key) ?? []), inv])
  }
  return settleLogs({
    logs: c.logs,
    head: 20,
    chainId: config.chain.id,
    owners,
    processed: new Map((c.processed ?? []).map(([log, records]) => [transferIdentity(log), records])),
    openInvoices,
    existingWebhookIds: new Set(c.existing ?? []),
    nowMs: NOW_MS,
    ...overrides,
  })
}

const one = transfer({ tx: 1, value: 500 })
const twin = transfer({ tx: 1, value: 500, logIndex: 1 }) // the same transfer identity as `one`, another log
const other = transfer({ tx: 2, value: 500, logIndex: 0, block: 11 })
const cases: [string, Case][] = [
  ['a transfer to no merchant is ignored: no outcome, nothing stored', { logs: [transfer({ tx: 1, value: 500, to: STRANGER })], open: [invoice(1)], outcomes: [] }],
  ['a token the merchant does not accept is unmatched', { logs: [transfer({ tx: 1, value: 500, token: OTHER_TOKEN })], open: [invoice(1)], outcomes: ['unmatched'], records: [[0, [{ block: 10, invoiceUuid: null }]]] }],
  ['no open invoice of that amount: unmatched', { logs: [transfer({ tx: 1, value: 501 })], open: [invoice(1)], outcomes: ['unmatched'], records: [[0, [{ block: 10, invoiceUuid: null }]]] }],
  ['a matching transfer settles the open invoice', { logs: [one], open: [invoice(1)], outcomes: ['settled'], settled: [[1, 0]], records: [[0, [{ block: 10, invoiceUuid: invoice(1).uuid }]]] }],
  ['the oldest of several matching invoices is settled first', { logs: [one], open: [invoice(2), invoice(1)], outcomes: ['settled'], settled: [[1, 0]] }],
  ['two payments in one batch settle two invoices, oldest first', { logs: [one, other], open: [invoice(1), invoice(2)], outcomes: ['settled', 'settled'], settled: [[1, 0], [2, 1]] }],
  ['an invoice settled earlier in the batch is not settled again: the second payment is unmatched', { logs: [one, other], open: [invoice(1)], outcomes: ['settled', 'unmatched'], settled: [[1, 0]] }],
  ['a transfer already handled is a duplicate: nothing stored', { logs: [one], open: [invoice(1)], processed: [[one, [{ block: 10, invoiceUuid: invoice(1).uuid }]]], outcomes: ['duplicate'] }],
  [
    'two identical transfers in one batch are both handled, the second as occurrence 1',
    { logs: [one, twin], open: [invoice(1)], outcomes: ['settled', 'unmatched'], settled: [[1, 0]], records: [[0, [{ block: 10, invoiceUuid: invoice(1).uuid }, { block: 10, invoiceUuid: null }]]] },
  ],
  [
    'with one of two identical transfers handled before, the first in the batch is the duplicate and the second is new',
    { logs: [one, twin], open: [invoice(1)], processed: [[one, [{ block: 10, invoiceUuid: null }]]], outcomes: ['duplicate', 'settled'], settled: [[1, 1]], records: [[0, [{ block: 10, invoiceUuid: null }, { block: 10, invoiceUuid: invoice(1).uuid }]]] },
  ],
  ['a settlement whose webhook id the outbox holds is a duplicate, and the invoice stays as it is', { logs: [one], open: [invoice(1)], existing: [webhookId('settled', invoice(1).uuid, one.txHash)], outcomes: ['duplicate'] }],
  ['an invoice expired when the block was mined is not settled', { logs: [transfer({ tx: 1, value: 500, blockTimestamp: NOW_MS / 1000 })], open: [invoice(1, { expiresAt: '2030-01-01T00:05:00.000Z' })], outcomes: ['unmatched'] }],
  ['an invoice expired now but open when the block was mined is settled', { logs: [transfer({ tx: 1, value: 500, blockTimestamp: NOW_MS / 1000 - 600 })], open: [invoice(1, { expiresAt: '2030-01-01T00:05:00.000Z' })], outcomes: ['settled'], settled: [[1, 0]] }],
  ['an invoice that names another payer is not settled', { logs: [one], open: [invoice(1, { payer: STRANGER })], outcomes: ['unmatched'] }],
  ['an empty range decides nothing', { logs: [], open: [invoice(1)], outcomes: [] }],
]

describe('settleLogs', () => {
  it.each(cases)('%s', (_, c) => {
    const result = decide(c)
    expect(result.outcomes.map((o) => o.kind)).toEqual(c.outcomes)
    const settled = (c.settled ?? []).map(([n, log]) => ({ uuid: invoice(n).uuid, txHash: c.logs[log]!.txHash, logIndex: c.logs[log]!.logIndex }))
    expect(result.invoices.map((inv) => ({ uuid: inv.uuid, txHash: inv.settlement?.txHash, logIndex: inv.settlement?.logIndex }))).toEqual(settled)
    expect(result.invoices.every((inv) => inv.status === 'settled' && inv.delivery?.status === 'queued' && inv.delivery.webhookId === inv.settlement?.webhookId)).toBe(true)
    // Every outcome but a duplicate queues one notification; the settled ones are the ids to check.
    expect(result.outbox.map((e) => e.payload.type)).toEqual(result.outcomes.filter((o) => o.kind !== 'duplicate').map((o) => (o.kind === 'settled' ? 'invoice.settled' : 'payment.unmatched')))
    expect(result.settledWebhookIds).toEqual(result.invoices.map((inv) => inv.settlement!.webhookId))
    for (const [log, records] of c.records ?? []) expect(result.processed.get(transferIdentity(c.logs[log]!))).toEqual(records)
    if (c.outcomes.every((o) => o === 'duplicate')) expect(result.processed.size).toBe(0)
  })

  it('builds the receipt from the log: amount, parties, confirmations up to the head, detection time', () => {
    const log = transfer({ tx: 1, value: 500, block: 17, blockTimestamp: NOW_MS / 1000 - 30 })
    const result = decide({ logs: [log], open: [invoice(1)], outcomes: [] })
    const id = webhookId('settled', invoice(1).uuid, log.txHash)
    expect(result.outbox).toEqual([
      expect.objectContaining({ webhookId: id, merchantId: 'acme', invoiceUuid: invoice(1).uuid, state: 'queued', attempts: 0, createdAt: NOW }),
    ])
    expect(result.outbox[0]!.payload).toEqual({
      type: 'invoice.settled',
      timestamp: NOW,
      data: { invoice_uuid: invoice(1).uuid, merchant_id: 'acme', chain_id: 31337, token: TOKEN, from: PAYER, to: ACME, amount: '500', tx_hash: log.txHash, block_number: 17, block_hash: log.blockHash, log_index: 0, confirmations: 4, providers: ['primary', 'secondary'], detected_at: NOW, settled_at: NOW },
    })
    expect(result.outcomes).toEqual([{ kind: 'settled', merchantId: 'acme', invoiceUuid: invoice(1).uuid, log, webhookId: id, latencySeconds: 30 }])
  })

  it('names an unmatched payment by its transfer identity and occurrence, so a re-read derives the same id', () => {
    const result = decide({ logs: [one, twin], outcomes: [] })
    const identity = transferIdentity(one)
    expect(result.outbox.map((e) => e.webhookId)).toEqual([webhookId('unmatched', `${identity}#0`), webhookId('unmatched', `${identity}#1`)])
    expect(result.outbox.map((e) => e.payload.data.settled_at)).toEqual([null, null])
  })

  it('has no latency without the block time, and takes the payment time as now', () => {
    const result = decide({ logs: [one], open: [invoice(1, { expiresAt: '2030-01-01T00:09:59.000Z' })], outcomes: [] })
    expect(result.outcomes.map((o) => o.kind)).toEqual(['unmatched'])
    const open = decide({ logs: [one], open: [invoice(1)], outcomes: [] })
    expect(open.outcomes).toMatchObject([{ kind: 'settled', latencySeconds: null }])
  })

  it('decided again with a proposed settlement known to exist, proposes the next one: each step knows more, towards a fixed point', () => {
    // The outbox holds the settlement of invoice 1 by `one` (a re-read): the first decision, not
    // knowing it, proposes it; the caller finds its webhook id and decides again. `one` is then
    // a duplicate and changes nothing, so invoice 1 is still there for the payment after it.
    const first = decide({ logs: [one, other], open: [invoice(1), invoice(2)], outcomes: [] })
    expect(first.settledWebhookIds).toEqual([webhookId('settled', invoice(1).uuid, one.txHash), webhookId('settled', invoice(2).uuid, other.txHash)])
    const again = decide({ logs: [one, other], open: [invoice(1), invoice(2)], existing: [first.settledWebhookIds[0]!], outcomes: [] })
    expect(again.outcomes.map((o) => o.kind)).toEqual(['duplicate', 'settled'])
    expect(again.settledWebhookIds).toEqual([webhookId('settled', invoice(1).uuid, other.txHash)])
    expect(again.processed.has(transferIdentity(one))).toBe(false)
  })

  it('is pure: the same inputs give the same decision, and the inputs are not changed', () => {
    const c: Case = { logs: [one, twin, other], open: [invoice(1), invoice(2)], processed: [[one, [{ block: 10, invoiceUuid: null }]]], outcomes: [] }
    const before = structuredClone(c)
    expect(decide(c)).toEqual(decide(c))
    expect(c).toEqual(before)
  })
})

describe('what settleLogs needs read first', () => {
  it('asks for each transfer identity once', () => {
    expect(transferIdentities([one, twin, other])).toEqual([transferIdentity(one), transferIdentity(other)])
  })

  it('asks for the open invoices of each merchant, token and amount once, and none for transfers no merchant accepts', () => {
    const keys = settlementKeys([one, twin, other, transfer({ tx: 3, value: 7 }), transfer({ tx: 4, value: 500, to: STRANGER }), transfer({ tx: 5, value: 500, token: OTHER_TOKEN })], owners)
    expect(keys).toEqual([
      { merchantId: 'acme', token: TOKEN, amount: '500' },
      { merchantId: 'acme', token: TOKEN, amount: '7' },
    ])
  })
})
