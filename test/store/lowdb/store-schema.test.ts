import { describe, expect, it } from 'vitest'
import { parseDocument } from '../../../src/store/lowdb/lowdb-document.ts'
import { changesSchema, firstProblem, formatPath } from '../../../src/store/lowdb/store-schema.ts'

const A = (n: number) => `0x${n.toString(16).padStart(40, '0')}`
const H = (n: number) => `0x${n.toString(16).padStart(64, '0')}`
const UUID = 'b5c7e0a4-1d2e-4f3a-8b9c-0d1e2f3a4b5c'
const WEBHOOK = 'msg_settled_1'
const at = '2026-01-01T00:00:00.000Z'

const settlement = { txHash: H(1), blockNumber: 12, blockHash: H(2), logIndex: 0, from: A(3), to: A(4), providers: ['primary', 'secondary'], detectedAt: at, settledAt: at, webhookId: WEBHOOK }
const acceptedLog = { txHash: H(1), blockNumber: 12, blockHash: H(2), logIndex: 0, address: A(5), topics: [H(6), H(7), H(8)], data: `0x${'00'.repeat(31)}64`, from: A(3), to: A(4), value: '100', providers: ['primary', 'secondary'] }

/** A store that has read blocks, settled an invoice and queued its webhook: every kind of record. */
function goodDocument(): Record<string, any> {
  return structuredClone({
    format: 'settleproof-store',
    version: 1,
    journalSeq: 4,
    chain: { chainId: 31337, checkpoint: 14, blocks: [{ number: 12, hash: H(2) }, { number: 14, hash: H(9) }], recentLogs: [acceptedLog], pendingReorg: { forkBlock: 11, untilBlock: 14, candidates: [{ ...acceptedLog, blockTimestamp: 1_700_000_000 }] } },
    invoices: {
      [UUID]: {
        uuid: UUID,
        merchantId: 'acme',
        token: A(5),
        amount: '100',
        receiveAddress: A(4),
        payer: null,
        expiresAt: null,
        createdAt: at,
        status: 'settled',
        requestHash: 'f'.repeat(64),
        settlement,
        delivery: { webhookId: WEBHOOK, status: 'retrying', attempts: 1, lastError: 'HTTP 503', updatedAt: at },
        reverted: [settlement],
      },
    },
    outbox: {
      [WEBHOOK]: {
        webhookId: WEBHOOK,
        merchantId: 'acme',
        invoiceUuid: UUID,
        payload: {
          type: 'invoice.settled',
          timestamp: at,
          data: { invoice_uuid: UUID, merchant_id: 'acme', chain_id: 31337, token: A(5), from: A(3), to: A(4), amount: '100', tx_hash: H(1), block_number: 12, block_hash: H(2), log_index: 0, confirmations: 1, providers: ['primary', 'secondary'], detected_at: at, settled_at: at },
        },
        state: 'retrying',
        attempts: 1,
        nextAttemptAt: 1_700_000_000_123.5,
        createdAt: at,
        firstAttemptAt: at,
        lastAttemptAt: at,
        lastError: 'HTTP 503',
      },
    },
    processed: { [`${H(1)}:0`]: [{ block: 12, invoiceUuid: UUID }] },
    totals: { settledArchived: 3, delivered: 2, dead: 1 },
  })
}

const problemOf = (document: unknown) => {
  const parsed = parseDocument(document)
  return 'problem' in parsed ? parsed.problem : undefined
}
const with_ = (patch: (d: Record<string, any>) => void) => {
  const document = goodDocument()
  patch(document)
  return document
}

describe('snapshot schema', () => {
  it('accepts a good document, and fills the collections the first release left out', () => {
    expect(problemOf(goodDocument())).toBeUndefined()
    const parsed = parseDocument({ format: 'settleproof-store', version: 1, chain: null })
    expect(parsed).toEqual({ document: { format: 'settleproof-store', version: 1, journalSeq: 0, chain: null, invoices: {}, outbox: {}, processed: {}, totals: { settledArchived: 0, delivered: 0, dead: 0 }, replayed: [] } })
  })

  const invoice = (d: Record<string, any>) => d.invoices[UUID]
  const entry = (d: Record<string, any>) => d.outbox[WEBHOOK]
  for (const [label, patch, path] of [
    ['no chain key', (d) => delete d.chain, 'chain'],
    ['chain blocks not an array', (d) => (d.chain.blocks = {}), 'chain.blocks'],
    ['a block hash that is not a hash', (d) => (d.chain.blocks[1].hash = '0x12'), 'chain.blocks[1].hash'],
    ['a checkpoint as a string', (d) => (d.chain.checkpoint = '14'), 'chain.checkpoint'],
    ['an accepted log value as a number', (d) => (d.chain.recentLogs[0].value = 100), 'chain.recentLogs[0].value'],
    ['a reorg candidate without its providers', (d) => delete d.chain.pendingReorg.candidates[0].providers, 'chain.pendingReorg.candidates[0].providers'],
    ['an invoice missing a field', (d) => delete invoice(d).requestHash, `invoices["${UUID}"].requestHash`],
    ['an invoice amount as a number', (d) => (invoice(d).amount = 100), `invoices["${UUID}"].amount`],
    ['an invoice amount with a leading zero', (d) => (invoice(d).amount = '0100'), `invoices["${UUID}"].amount`],
    ['an invoice amount in hex', (d) => (invoice(d).amount = '0x64'), `invoices["${UUID}"].amount`],
    ['an unknown invoice status', (d) => (invoice(d).status = 'paid'), `invoices["${UUID}"].status`],
    ['an invoice token that is not an address', (d) => (invoice(d).token = 'usdc'), `invoices["${UUID}"].token`],
    ['a settlement block number as a string', (d) => (invoice(d).settlement.blockNumber = '12'), `invoices["${UUID}"].settlement.blockNumber`],
    ['a reverted list that is not an array', (d) => (invoice(d).reverted = null), `invoices["${UUID}"].reverted`],
    ['an invoice stored under another uuid', (d) => (invoice(d).uuid = 'other'), `invoices["${UUID}"].uuid`],
    ['an outbox entry with negative attempts', (d) => (entry(d).attempts = -1), `outbox.${WEBHOOK}.attempts`],
    ['an unknown outbox state', (d) => (entry(d).state = 'sent'), `outbox.${WEBHOOK}.state`],
    ['a webhook payload amount as a number', (d) => (entry(d).payload.data.amount = 100), `outbox.${WEBHOOK}.payload.data.amount`],
    ['an outbox entry stored under another id', (d) => (entry(d).webhookId = 'msg_other'), `outbox.${WEBHOOK}.webhookId`],
    ['processed transfers that are not an array', (d) => (d.processed[`${H(1)}:0`] = { block: 12 }), `processed["${H(1)}:0"]`],
    ['totals as strings', (d) => (d.totals.delivered = '2'), 'totals.delivered'],
    ['invoices as an array', (d) => (d.invoices = []), 'invoices'],
  ] as [string, (d: Record<string, any>) => void, string][]) {
    it(`refuses ${label}, at ${path}`, () => {
      expect(problemOf(with_(patch))).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `))
    })
  }

  it('keeps the format and version messages', () => {
    expect(problemOf([])).toBe('not a JSON object')
    expect(problemOf({ hello: 'world' })).toBe('not a settleproof store')
    expect(problemOf({ ...goodDocument(), version: 2 })).toBe('store version 2 is not supported by this release')
  })
})

describe('journal record schema', () => {
  it('accepts every kind of change, and refuses a wrong shape with its path', () => {
    const d = goodDocument()
    expect(firstProblem(changesSchema, { seq: 5, chain: d.chain, invoices: [d.invoices[UUID]], outbox: [d.outbox[WEBHOOK]], processed: [[`${H(1)}:0`, []]], archived: [UUID], dropped: ['x'] })).toBeUndefined()
    expect(firstProblem(changesSchema, { seq: 0 })).toMatch(/^seq: /)
    expect(firstProblem(changesSchema, { seq: 5, invoices: [{ ...d.invoices[UUID], amount: 1 }] })).toMatch(/^invoices\[0\]\.amount: /)
    expect(firstProblem(changesSchema, { seq: 5, processed: [['id', [{ block: 'x', invoiceUuid: null }]]] })).toMatch(/^processed\[0\]\[1\]\[0\]\.block: /)
  })

  it('formats paths as a reader would write them', () => {
    expect(formatPath([])).toBe('(root)')
    expect(formatPath(['chain', 'blocks', 0, 'hash'])).toBe('chain.blocks[0].hash')
    expect(formatPath(['invoices', 'a-b', 'amount'])).toBe('invoices["a-b"].amount')
  })
})
