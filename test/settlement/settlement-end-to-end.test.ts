import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChainFixture } from '../support/reader-harness.ts'
import { BACKENDS, testStorage } from '../support/storage.ts'
import type { WebhookReceiver } from '../support/webhook-receiver.ts'
import { daemonDocument, eventually, merchantAddress, startTestDaemon, type DaemonUnderTest, startMerchantWorld, type MerchantWorld } from '../support/daemon-harness.ts'

// Everything is real: anvil and a deployed ERC-20, three HTTP providers (fault proxies) under a
// 2-of-3 quorum, the daemon's HTTP server, the merchants' webhook receiver, and the store: a
// lowdb file, or a database in the run's real PostgreSQL cluster. Each backend gets a chain of its own.

type Resource = { uuid: string; status: string; settlement: { tx_hash: string; block_number: number; log_index: number; providers: string[] } | null; delivery: { webhook_id: string; status: string } | null }

describe.each(BACKENDS)('on %s', (backend) => {
  let world: MerchantWorld
  let chain: ChainFixture
  let receiver: WebhookReceiver
  let d: DaemonUnderTest

  beforeAll(async () => {
    world = await startMerchantWorld()
    ;({ chain, receiver } = world)
    // The tertiary provider fabricates a transfer in every range it is asked for.
    chain.proxies[2]!.setFault({ kind: 'lie', lie: 'fabricate' })
    d = await startTestDaemon(daemonDocument(chain, receiver, chain.dir, {}, await testStorage(backend, chain.dir)))
  })
  afterAll(async () => {
    await d?.stop()
    await world?.close()
  })

  it('settles invoices created over HTTP when real ERC-20 transfers pay them, and notifies each merchant with verifiable webhooks', async () => {
    const token = chain.token.address
    const acme = [{ amount: '5000000' }, { amount: '5000000' }, { amount: '7250000' }].map((i) => ({ ...i, uuid: randomUUID() }))
    const globex = [{ amount: '5000000', payer: chain.payer }, { amount: '123' }].map((i) => ({ ...i, uuid: randomUUID() }))
    for (const invoice of acme) expect((await d.api('acme').post('invoices', { json: { ...invoice, token } })).statusCode).toBe(201)
    for (const invoice of globex) expect((await d.api('globex').post('invoices', { json: { ...invoice, token } })).statusCode).toBe(201)

    // Oldest first: the first 5 TUSD payment to acme settles acme[0], the second acme[1].
    const pay = (merchant: 'acme' | 'globex', amount: string) => chain.token.transfer(chain.payer, merchantAddress(chain, merchant), BigInt(amount))
    const txA0 = await pay('acme', '5000000')
    const txA1 = await pay('acme', '5000000')
    const txA2 = await pay('acme', '7250000')
    const txG0 = await pay('globex', '5000000')
    const txG1 = await pay('globex', '123')
    const txExtra = await pay('acme', '5000000') // no open invoice left for it: payment.unmatched

    const all = [...acme.map((i) => ({ ...i, merchant: 'acme' as const })), ...globex.map((i) => ({ ...i, merchant: 'globex' as const }))]
    const fetchInvoice = async (i: (typeof all)[number]) => (await d.api(i.merchant).get(`invoices/${i.uuid}`)).body as unknown as Resource
    await eventually(async () => (await Promise.all(all.map(fetchInvoice))).every((r) => r.delivery?.status === 'delivered'), 20_000, 'every invoice delivered')

    const resources = await Promise.all(all.map(fetchInvoice))
    expect(resources.map((r) => r.settlement?.tx_hash)).toEqual([txA0, txA1, txA2, txG0, txG1])
    for (const r of resources) {
      expect(r.status).toBe('settled')
      expect(r.settlement!.providers).toEqual(expect.arrayContaining(['primary', 'secondary']))
    }

    // Every request was verified with the standardwebhooks library, as a merchant would.
    expect(receiver.received.length).toBeGreaterThan(0)
    expect(receiver.received.every((r) => r.verified)).toBe(true)
    for (const r of resources) {
      const got = receiver.delivered().filter((w) => w.payload.data.invoice_uuid === r.uuid)
      expect(got.length).toBeGreaterThanOrEqual(1)
      expect(new Set(got.map((w) => w.webhookId))).toEqual(new Set([r.delivery!.webhook_id]))
      expect(got[0]!.idempotencyKey).toBe(r.delivery!.webhook_id)
      expect(got[0]!.payload).toMatchObject({ type: 'invoice.settled', data: { tx_hash: r.settlement!.tx_hash, block_number: r.settlement!.block_number, log_index: r.settlement!.log_index, chain_id: chain.anvil.chainId, token } })
    }
    const unmatched = await (async () => {
      await eventually(() => receiver.delivered('/acme').some((w) => w.payload.type === 'payment.unmatched'), 10_000, 'payment.unmatched')
      return receiver.delivered('/acme').filter((w) => w.payload.type === 'payment.unmatched')
    })()
    expect(unmatched.map((w) => w.payload.data.tx_hash)).toEqual([txExtra])
    expect(unmatched[0]!.payload.data).toMatchObject({ amount: '5000000', merchant_id: 'acme', invoice_uuid: null })

    // The liar's forged transfer (always tx 0xf0f0…) settled nothing and was never reported.
    expect(receiver.received.some((w) => w.payload.data.tx_hash === `0x${'f0'.repeat(32)}`)).toBe(false)
    expect(receiver.received.filter((w) => w.path === '/globex').every((w) => w.payload.type === 'invoice.settled')).toBe(true)
  })

  it('does not settle an expired invoice, nor one whose payer differs', async () => {
    const token = chain.token.address
    const expiresAt = Math.floor(Date.now() / 1000) + 60
    const expiring = { uuid: randomUUID(), token, amount: '777', expires_at: new Date(expiresAt * 1000).toISOString() }
    const payerBound = { uuid: randomUUID(), token, amount: '888', payer: chain.stranger }
    expect((await d.api('acme').post('invoices', { json: expiring })).statusCode).toBe(201)
    expect((await d.api('acme').post('invoices', { json: payerBound })).statusCode).toBe(201)
    // The payment's block is stamped after expires_at: what counts is when it was paid, by its block.
    await chain.anvil.client.setNextBlockTimestamp({ timestamp: BigInt(expiresAt + 1) })
    const late = await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 777n)
    const wrongPayer = await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 888n)
    await eventually(() => [late, wrongPayer].every((tx) => receiver.delivered('/acme').some((w) => w.payload.data.tx_hash === tx)), 10_000, 'both reported')
    for (const tx of [late, wrongPayer]) expect(receiver.delivered('/acme').find((w) => w.payload.data.tx_hash === tx)!.payload.type).toBe('payment.unmatched')
    expect(((await d.api('acme').get(`invoices/${expiring.uuid}`)).body as unknown as Resource).status).toBe('open') // not yet expired by the wall clock
    expect(((await d.api('acme').get(`invoices/${payerBound.uuid}`)).body as unknown as Resource).status).toBe('open')
  })
})
