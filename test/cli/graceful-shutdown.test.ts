import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli, waitForBoundPort, waitForOutput } from '../support/cli.ts'
import { apiClient, apiKeyOf, daemonDocument, eventually, merchantAddress, writeDaemonConfig, startMerchantWorld, type MerchantWorld } from '../support/daemon-harness.ts'
import type { ChainFixture } from '../support/reader-harness.ts'
import { BACKENDS, testStorage } from '../support/storage.ts'
import type { WebhookReceiver } from '../support/webhook-receiver.ts'

// Everything is real: anvil and a deployed ERC-20, three HTTP providers, `settleproof run` as a
// child process stopped with a real SIGTERM, the merchants' webhook receiver (slow on purpose),
// and the store: a lowdb file, or a database in the run's real PostgreSQL cluster.

describe.each(BACKENDS)('on %s', (backend) => {
  let world: MerchantWorld
  let chain: ChainFixture
  let receiver: WebhookReceiver
  let count = 0

  beforeAll(async () => {
    world = await startMerchantWorld()
    ;({ chain, receiver } = world)
  })
  afterAll(async () => {
    await world?.close()
  })

  async function setup(drainTimeoutMs: number) {
    const dir = join(chain.dir, `shutdown-${++count}`)
    const configPath = join(chain.dir, `shutdown-${count}.yaml`)
    const head = Number(await chain.anvil.client.getBlockNumber())
    await writeDaemonConfig(
      configPath,
      daemonDocument(
        chain,
        receiver,
        dir,
        {
          chain: { id: chain.anvil.chainId, confirmations: 1, start_block: head + 1, poll_interval_ms: 50 },
          server: { host: '127.0.0.1', port: 0 },
          webhooks: { max_attempts: 4, initial_delay_ms: 50, max_delay_ms: 200, timeout_ms: 10_000, concurrency: 4, drain_timeout_ms: drainTimeoutMs },
          log: { level: 'info' },
        },
        await testStorage(backend, dir),
      ),
    )
    return { configPath }
  }

  /** Starts the daemon, has an invoice paid, and sends SIGTERM once the webhook request reached the merchant. */
  async function terminateMidDelivery(configPath: string) {
    const daemon = startCli(['run', '--config', configPath])
    const port = await waitForBoundPort(daemon)
    const uuid = randomUUID()
    const amount = 50_000_000n + BigInt(count)
    expect((await apiClient(port, apiKeyOf('acme')).post('invoices', { json: { uuid, token: chain.token.address, amount: amount.toString() } })).statusCode).toBe(201)
    await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), amount)
    await eventually(() => receiver.received.some((r) => r.payload.data.invoice_uuid === uuid), 15_000, 'the webhook request in flight')
    const signalledAt = Date.now()
    daemon.kill('SIGTERM')
    const exit = await daemon.exited
    return { uuid, exit, stoppedInMs: Date.now() - signalledAt }
  }

  it('SIGTERM mid-delivery: the attempt in flight finishes within the drain timeout, is recorded, and the daemon exits 0', async () => {
    receiver.setBehaviour('/acme', { kind: 'ok', delayMs: 1_500 })
    const { configPath } = await setup(8_000)
    const { uuid, exit, stoppedInMs } = await terminateMidDelivery(configPath)
    expect(exit.code).toBe(0)
    expect(stoppedInMs).toBeGreaterThanOrEqual(1_000) // it waited for the merchant's answer
    expect(exit.stdout).toMatch(/"msg":"webhook delivered"/)
    expect(exit.stdout).toMatch(/"msg":"stopped"/)
    const requests = receiver.received.filter((r) => r.payload.data.invoice_uuid === uuid)
    expect(requests).toHaveLength(1)

    // Restarted, it has nothing left to send for it: the delivery was persisted before exit.
    receiver.setBehaviour('/acme', { kind: 'ok' })
    const status = JSON.parse((await runCli(['status', '--json', '--config', configPath])).stdout)
    expect(status.deliveries).toMatchObject({ delivered: 1, queued: 0, in_flight: 0, retrying: 0 })
    const again = startCli(['run', '--config', configPath])
    await waitForOutput(again, /reading the chain/)
    await new Promise((resolve) => setTimeout(resolve, 500))
    again.kill('SIGTERM')
    expect((await again.exited).code).toBe(0)
    expect(receiver.received.filter((r) => r.payload.data.invoice_uuid === uuid)).toHaveLength(1)
  })

  it('SIGTERM with an attempt slower than the drain timeout: exits 0 on time, the attempt stays persisted, and the next start delivers it under the same webhook-id', async () => {
    receiver.setBehaviour('/acme', { kind: 'ok', delayMs: 5_000 })
    const { configPath } = await setup(300)
    const { uuid, exit, stoppedInMs } = await terminateMidDelivery(configPath)
    expect(exit.code).toBe(0)
    expect(stoppedInMs).toBeLessThan(4_000)
    expect(exit.stdout).toMatch(/drain timeout: attempts still in flight stay queued/)
    const status = JSON.parse((await runCli(['status', '--json', '--config', configPath])).stdout)
    expect(status.deliveries).toMatchObject({ in_flight: 1, delivered: 0 })

    receiver.setBehaviour('/acme', { kind: 'ok' })
    const again = startCli(['run', '--config', configPath])
    try {
      await eventually(() => receiver.delivered('/acme').some((r) => r.payload.data.invoice_uuid === uuid), 15_000, 'delivered after restart')
    } finally {
      again.kill('SIGTERM')
      expect((await again.exited).code).toBe(0)
    }
    const requests = receiver.received.filter((r) => r.payload.data.invoice_uuid === uuid)
    expect(requests.length).toBeGreaterThanOrEqual(2)
    expect(new Set(requests.map((r) => r.webhookId)).size).toBe(1)
  })
})
