import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFunctionData, toHex, type Hex } from 'viem'
import { parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/schema.ts'
import { readStoreSnapshot } from '../../src/store/open-store.ts'
import { startCli, waitForOutput } from '../support/cli.ts'
import { apiClient, apiKeyOf, daemonDocument, eventually, merchantAddress, startMerchantWorld, writeDaemonConfig, type MerchantWorld } from '../support/daemon-harness.ts'
import { BACKENDS, testStorage } from '../support/storage.ts'
import { tokenAbi } from '../support/token.ts'

// Issue 9 item 8 through `settleproof run`: the daemon reads its first blocks (with both
// payments) in one range at confirmations 1, then a depth-2 reorg replaces the paying block
// and its parent. It must roll back, re-read, revert the vanished payment, settle the one mined
// on the new branch, keep running, and resume after a restart.
// Everything is real: anvil (anvil_reorg), a deployed ERC-20, three HTTP providers, `settleproof
// run` as a child process, the merchants' webhook receiver, and the store: a lowdb file, or a
// database in the run's real PostgreSQL cluster.

describe.each(BACKENDS)('on %s', (backend) => {
  let world: MerchantWorld
  let configPath: string
  let config: Config
  const started: ReturnType<typeof startCli>[] = []

  beforeAll(async () => {
    world = await startMerchantWorld()
    configPath = join(world.chain.dir, 'skill.yaml')
    const dir = join(world.chain.dir, 'data')
    const document = daemonDocument(world.chain, world.receiver, dir, { log: { level: 'info' } }, await testStorage(backend, dir))
    config = parseConfig(document)
    await writeDaemonConfig(configPath, document)
  })
  afterAll(async () => {
    // A daemon left running by a failed assertion is killed, not left to its timeout.
    for (const child of started) if (child.output.code === null && child.output.signal === null) child.kill('SIGKILL')
    await Promise.all(started.map((child) => child.exited))
    await world?.close()
  })

  type Resource = { status: string; settlement: { tx_hash: string } | null }

  async function startDaemon() {
    const daemon = startCli(['run', '--config', configPath], { timeoutMs: 90_000 })
    started.push(daemon)
    await waitForOutput(daemon, /reading the chain/, 45_000)
    const line = daemon.output.stdout.split('\n').find((l) => l.includes('reading the chain'))!
    const api = apiClient((JSON.parse(line) as { port: number }).port, apiKeyOf('acme'))
    return { daemon, api }
  }

  it('survives a depth-2 reorg of every kept block right after start-up, and a restart after it', async () => {
    const { chain, receiver } = world
    const token = chain.token.address
    const to = merchantAddress(chain, 'acme')
    // Every provider reports a head far behind: the daemon reads nothing until the payments are mined.
    for (const proxy of chain.proxies) proxy.setFault({ kind: 'lag', blocks: 1_000_000 })
    const first = await startDaemon()
    const [moved, vanishing, fresh] = await Promise.all(
      ['13000', '12000', '14000'].map(async (amount) => {
        const uuid = randomUUID()
        expect((await first.api.post('invoices', { json: { uuid, token, amount } })).statusCode).toBe(201)
        return uuid
      }),
    )
    const invoice = async (api: typeof first.api, uuid: string) => (await api.get(`invoices/${uuid}`)).body as unknown as Resource

    const movedTx = await chain.token.transfer(chain.payer, to, 13_000n)
    const vanishingTx = await chain.token.transfer(chain.payer, to, 12_000n)
    const rawMoved = (await chain.anvil.client.request({ method: 'eth_getRawTransactionByHash' as never, params: [movedTx] as never })) as Hex
    const head = Number(await chain.anvil.client.getBlockNumber())
    for (const proxy of chain.proxies) proxy.setFault({ kind: 'none' })

    await eventually(async () => (await invoice(first.api, moved!)).status === 'settled' && (await invoice(first.api, vanishing!)).status === 'settled', 45_000, 'both payments settled')
    await eventually(async () => (await readStoreSnapshot(config))?.chain?.checkpoint === head, 45_000, 'checkpoint at the head')
    // One range 1..head: only its end and the two paying blocks are kept, all inside the reorg.
    expect((await readStoreSnapshot(config))!.chain!.blocks.map((b) => b.number)).toEqual([head - 1, head])

    const { nonce } = await chain.anvil.client.getTransaction({ hash: vanishingTx })
    const data = encodeFunctionData({ abi: tokenAbi, functionName: 'transfer', args: [to, 14_000n] })
    await chain.anvil.client.request({
      method: 'anvil_reorg' as never,
      params: [2, [[rawMoved, 0], [{ from: chain.payer, to: token, data, nonce: toHex(nonce), gas: toHex(100_000) }, 1]]] as never,
    })

    await eventually(async () => (await invoice(first.api, fresh!)).status === 'settled', 45_000, 'the payment mined on the new branch settled')
    await eventually(() => receiver.delivered('/acme').some((w) => w.payload.type === 'invoice.reverted'), 45_000, 'invoice.reverted delivered')
    expect(await invoice(first.api, vanishing!)).toMatchObject({ status: 'open', settlement: null })
    expect(await invoice(first.api, moved!)).toMatchObject({ status: 'settled', settlement: { tx_hash: movedTx } })
    const reverted = receiver.delivered('/acme').filter((w) => w.payload.type === 'invoice.reverted')
    expect(reverted.map((w) => [w.payload.data.invoice_uuid, w.payload.data.tx_hash])).toEqual([[vanishing, vanishingTx]])
    expect(first.daemon.output.code).toBeNull() // still running
    expect(first.daemon.output.stdout + first.daemon.output.stderr).not.toContain('REORG_TOO_DEEP')
    expect(first.daemon.output.stdout).toContain('reorg below the checkpoint')

    first.daemon.kill('SIGTERM')
    expect((await first.daemon.exited).code).toBe(0)

    const second = await startDaemon()
    try {
      const later = randomUUID()
      expect((await second.api.post('invoices', { json: { uuid: later, token, amount: '15000' } })).statusCode).toBe(201)
      const laterTx = await chain.token.transfer(chain.payer, to, 15_000n)
      await eventually(async () => (await invoice(second.api, later)).status === 'settled', 45_000, 'a payment after the restart settled')
      expect(await invoice(second.api, later)).toMatchObject({ settlement: { tx_hash: laterTx } })
      expect(second.daemon.output.stdout + second.daemon.output.stderr).not.toContain('REORG_TOO_DEEP')
    } finally {
      second.daemon.kill('SIGTERM')
      await second.daemon.exited
    }
  }, 180_000) // two daemon starts and a reorg: generous for a loaded two-core machine; each wait is bounded
})
