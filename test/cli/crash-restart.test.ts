import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/anvil.ts'
import { runCli, startCli, waitForOutput } from '../support/cli.ts'
import { apiClient, apiKeyOf, daemonDocument, eventually, MERCHANTS, merchantAddress, writeDaemonConfig, type MerchantId, startMerchantWorld, type MerchantWorld } from '../support/daemon-harness.ts'
import type { ChainFixture } from '../support/reader-harness.ts'
import { BACKENDS, testStorage, type Backend } from '../support/storage.ts'
import type { WebhookReceiver } from '../support/webhook-receiver.ts'

// Everything is real: anvil and a deployed ERC-20, three HTTP providers, `settleproof run` as a
// child process killed with a real SIGKILL, its HTTP server, the merchants' webhook receiver, and
// the store: a lowdb file, or a database in the run's real PostgreSQL cluster.

/**
 * Kills per backend. Each costs a Node start-up (seconds on a busy 2-core machine). lowdb gets
 * the long loop: its crash safety is its own (temp file, fsync, rename, journal). PostgreSQL's
 * commits are the server's, so a shorter loop is enough to show that a process killed at any
 * moment (mid-transaction, mid-delivery, connections left open) loses nothing and settles
 * nothing twice; it keeps the suite's time in check.
 */
const PLAN: Record<Backend, { kills: number; invoices: number }> = {
  lowdb: { kills: 22, invoices: 30 },
  postgres: { kills: 6, invoices: 12 },
}

type Resource = { status: string; settlement: { tx_hash: string } | null; delivery: { status: string; webhook_id: string } | null }

describe.each(BACKENDS)('on %s', (backend) => {
  const { kills: KILLS, invoices: INVOICES } = PLAN[backend]
  let world: MerchantWorld
  let chain: ChainFixture
  let receiver: WebhookReceiver
  let configPath: string
  let port: number

  beforeAll(async () => {
    world = await startMerchantWorld()
    ;({ chain, receiver } = world)
    // A little latency keeps webhook attempts in flight when the kills land.
    for (const m of MERCHANTS) receiver.setBehaviour(`/${m}`, { kind: 'ok', delayMs: 30 })
    port = await freePort()
    configPath = join(chain.dir, 'skill.yaml')
    const dir = join(chain.dir, 'data')
    await writeDaemonConfig(configPath, daemonDocument(chain, receiver, dir, { server: { host: '127.0.0.1', port }, log: { level: 'info' } }, await testStorage(backend, dir)))
  })
  afterAll(async () => {
    await world?.close()
  })

  /**
   * Creates an invoice, retrying while the daemon is down (creation is idempotent). Bounded by
   * the test's own timeout: on a busy machine a daemon may take many seconds to start.
   */
  async function createInvoice(merchant: MerchantId, body: object): Promise<void> {
    for (;;) {
      const reply = await apiClient(port, apiKeyOf(merchant)).post('invoices', { json: body, timeout: { request: 5_000 } }).catch(() => null)
      if (reply && (reply.statusCode === 201 || reply.statusCode === 200)) return
      if (reply && reply.statusCode !== 201 && reply.statusCode !== 200) throw new Error(`create answered ${reply.statusCode}: ${JSON.stringify(reply.body)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  it(`SIGKILLed ${KILLS} times at random moments while invoices are paid and webhooks delivered: every invoice settled exactly once and delivered at least once, under one webhook-id`, async () => {
    const invoices = Array.from({ length: INVOICES }, (_, i) => ({ uuid: randomUUID(), merchant: MERCHANTS[i % 2]!, amount: 10_000_000n + BigInt(i) * 1_000n, tx: '' }))

    let kills = 0
    let stop = false
    // The killer's last start is left running: payments still waiting for a daemon then finish.
    let last!: ReturnType<typeof startCli>
    const killer = (async () => {
      while (kills < KILLS) {
        const daemon = startCli(['run', '--config', configPath], { timeoutMs: 120_000 })
        await waitForOutput(daemon, /reading the chain/, 90_000)
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 500)))
        daemon.kill('SIGKILL')
        await daemon.exited
        kills++
      }
      stop = true
      // One last start: it must open the store cleanly and finish what the killed ones began.
      last = startCli(['run', '--config', configPath], { timeoutMs: 400_000 })
    })()
    const payer = (async () => {
      for (const invoice of invoices) {
        await createInvoice(invoice.merchant, { uuid: invoice.uuid, token: chain.token.address, amount: invoice.amount.toString() })
        invoice.tx = await chain.token.transfer(chain.payer, merchantAddress(chain, invoice.merchant), invoice.amount)
        if (stop) continue
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)))
      }
    })()
    await Promise.all([killer, payer])
    expect(kills).toBe(KILLS)

    try {
      await waitForOutput(last, /reading the chain/, 90_000)
      const fetch = async (i: (typeof invoices)[number]) => (await apiClient(port, apiKeyOf(i.merchant)).get(`invoices/${i.uuid}`)).body as unknown as Resource
      await eventually(async () => (await Promise.all(invoices.map(fetch))).every((r) => r.delivery?.status === 'delivered'), 120_000, 'every invoice delivered')
      const resources = await Promise.all(invoices.map(fetch))
      for (const [i, invoice] of invoices.entries()) {
        const resource = resources[i]!
        expect(resource.status).toBe('settled')
        expect(resource.settlement!.tx_hash).toBe(invoice.tx)
        const deliveries = receiver.delivered(`/${invoice.merchant}`).filter((r) => r.payload.data.invoice_uuid === invoice.uuid)
        expect(deliveries.length).toBeGreaterThanOrEqual(1)
        // Duplicates (a kill between sending and recording) carry the same webhook-id, so the merchant can drop them.
        expect(new Set(deliveries.map((r) => r.webhookId))).toEqual(new Set([resource.delivery!.webhook_id]))
        expect(deliveries.every((r) => r.payload.data.tx_hash === invoice.tx)).toBe(true)
      }
      // Each payment settled one invoice: nothing was settled twice, nothing reported unmatched.
      expect(receiver.received.filter((r) => r.payload.type !== 'invoice.settled')).toEqual([])
      expect(receiver.received.every((r) => r.verified)).toBe(true)
      const status = JSON.parse((await runCli(['status', '--json', '--config', configPath])).stdout)
      expect(status).toMatchObject({ daemon: 'running', invoices: { settled: INVOICES, open: 0 }, deliveries: { queued: 0, retrying: 0, dead: 0 } })
      expect(status.deliveries.delivered).toBeGreaterThanOrEqual(INVOICES)
    } finally {
      last.kill('SIGTERM')
      const exit = await last.exited
      expect(exit.code).toBe(0)
    }
    const duplicates = invoices.map((i) => receiver.delivered().filter((r) => r.payload.data.invoice_uuid === i.uuid).length - 1).reduce((a, b) => a + b, 0)
    console.log(`crash test on ${backend}: ${kills} SIGKILLs, ${INVOICES} invoices settled once each, ${receiver.delivered().length} deliveries (${duplicates} duplicates, same webhook-id)`)
  }, 480_000) // 23 Node start-ups and 30 payments: minutes on a busy 2-core machine, bounded anyway
})
