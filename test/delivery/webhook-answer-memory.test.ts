import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../support/anvil.ts'
import { startCli, waitForOutput } from '../support/cli.ts'
import { apiClient, apiKeyOf, daemonDocument, eventually, merchantAddress, startMerchantWorld, writeDaemonConfig, type MerchantWorld } from '../support/daemon-harness.ts'

let world: MerchantWorld
const BODY_BYTES = 200 * 1024 * 1024

beforeAll(async () => {
  world = await startMerchantWorld()
})
afterAll(async () => {
  await world.close()
})

/** The process's peak resident set (VmHWM) in MiB, as the kernel counts it. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1])
  return kib / 1024
}

it('a merchant answering 200 with a 200 MB body: the real daemon records the delivery, closes the connection early and its memory stays flat', async () => {
  const { chain, receiver } = world
  receiver.setBehaviour('/acme', { kind: 'huge-body', status: 200, bodyBytes: BODY_BYTES })
  const port = await freePort()
  const configPath = join(chain.dir, 'huge-answer.yaml')
  const head = Number(await chain.anvil.client.getBlockNumber())
  await writeDaemonConfig(
    configPath,
    daemonDocument(chain, receiver, join(chain.dir, 'huge-answer'), {
      chain: { id: chain.anvil.chainId, confirmations: 1, start_block: head + 1, poll_interval_ms: 50 },
      server: { host: '127.0.0.1', port },
      log: { level: 'info' },
      // Long enough for a sender that reads the whole body to do so.
      webhooks: { max_attempts: 2, initial_delay_ms: 50, max_delay_ms: 200, timeout_ms: 30_000, concurrency: 4 },
    }),
  )
  const daemon = startCli(['run', '--config', configPath], { timeoutMs: 60_000 })
  try {
    await waitForOutput(daemon, /reading the chain/)
    const before = await peakRssMiB(daemon.pid!)
    const uuid = randomUUID()
    const api = apiClient(port, apiKeyOf('acme'))
    expect((await api.post('invoices', { json: { uuid, token: chain.token.address, amount: '90000001' } })).statusCode).toBe(201)
    await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 90_000_001n)
    await eventually(async () => ((await api.get(`invoices/${uuid}`)).body as { delivery?: { status: string } }).delivery?.status === 'delivered', 30_000, 'the delivery recorded')
    const request = receiver.received.find((r) => r.payload.data.invoice_uuid === uuid)!
    await request.answered
    const after = await peakRssMiB(daemon.pid!)
    console.log(`daemon VmHWM with a ${BODY_BYTES / 1024 / 1024} MiB answer: ${before.toFixed(0)} MiB before, ${after.toFixed(0)} MiB after; the receiver sent ${request.bodyBytesSent} bytes`)
    expect(receiver.received.filter((r) => r.payload.data.invoice_uuid === uuid)).toHaveLength(1)
    expect(request.bodyBytesSent!).toBeLessThan(32 * 1024 * 1024)
    // Loose on purpose (a figure, not a speed): reading the body pushed the peak past 1.8 GiB.
    expect(after).toBeLessThan(before + 256)
  } finally {
    daemon.kill('SIGTERM')
    await daemon.exited
    receiver.setBehaviour('/acme', { kind: 'ok' })
  }
})
