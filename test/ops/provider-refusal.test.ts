import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import got from 'got'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/anvil.ts'
import { runCli } from '../support/cli.ts'
import { daemonDocument, eventually, merchantAddress, startMerchantWorld, startTestDaemon, writeDaemonConfig, type DaemonUnderTest, type MerchantWorld } from '../support/daemon-harness.ts'
import { promtoolCheckMetrics } from '../support/system-tool.ts'
import { sample } from '../support/metrics-text.ts'

let world: MerchantWorld
let daemons: DaemonUnderTest[] = []
let dirCount = 0

beforeAll(async () => {
  world = await startMerchantWorld()
})
afterEach(async () => {
  for (const d of daemons) await d.stop()
  daemons = []
  for (const proxy of world.chain.proxies) {
    proxy.setFault({ kind: 'none' })
    proxy.resetCounts()
  }
})
afterAll(async () => {
  await world.close()
})

/** A daemon in its own directory on the shared chain; its configuration file is written for `settleproof status`. */
async function daemon(overrides: Record<string, unknown> = {}): Promise<DaemonUnderTest & { configPath: string; http(path: string): Promise<{ statusCode: number; body: string }> }> {
  const dir = join(world.chain.dir, `daemon-${++dirCount}`)
  await mkdir(dir)
  const document = daemonDocument(world.chain, world.receiver, dir, { server: { host: '127.0.0.1', port: await freePort() }, ...overrides })
  const configPath = join(dir, 'skill.yaml')
  await writeDaemonConfig(configPath, document)
  const d = await startTestDaemon(document)
  daemons.push(d)
  const http = (path: string) => got(`http://127.0.0.1:${d.daemon.server.port}${path}`, { throwHttpErrors: false, retry: { limit: 0 } })
  return { ...d, configPath, http }
}

type Invoice = { status: string; settlement: { providers: string[] } | null }

describe('a refused provider, as the operator sees it', () => {
  it('answering HTTP 401 shows as refused, with the reason, in /readyz, /diagnostics, settleproof status and settleproof_provider_refused; a good answer clears it', async () => {
    const d = await daemon()
    world.chain.proxies[2]!.setFault({ kind: 'status', status: 401, body: '{"error":"invalid api key"}', contentType: 'application/json' })
    const diagnostics = async () => JSON.parse((await d.http('/diagnostics')).body) as { providers: { name: string; breaker_state: string; refused: string | null }[] }
    await eventually(async () => (await diagnostics()).providers[2]!.refused !== null, 10_000, 'tertiary refused')

    const tertiary = (await diagnostics()).providers[2]!
    expect(tertiary).toMatchObject({ name: 'tertiary', breaker_state: 'closed', refused: expect.stringMatching(/^HTTP 401 \(eth_/) })
    const readyz = await d.http('/readyz')
    expect(readyz.statusCode).toBe(200)
    expect(JSON.parse(readyz.body)).toMatchObject({ status: 'ready', usable_providers: ['primary', 'secondary'], refused_providers: [{ name: 'tertiary', reason: tertiary.refused }] })
    const metrics = (await d.http('/metrics')).body
    expect(sample(metrics, 'settleproof_provider_refused', { provider: 'tertiary' })).toBe(1)
    expect(sample(metrics, 'settleproof_provider_refused', { provider: 'primary' })).toBe(0)
    expect(sample(metrics, 'settleproof_circuit_breaker_state', { provider: 'tertiary' })).toBe(0)
    expect(await promtoolCheckMetrics(metrics)).toEqual({ code: 0, output: '' })
    const status = await runCli(['status', '--config', d.configPath])
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/provider +tertiary +breaker closed +REFUSED: HTTP 401 \(eth_/)
    expect(status.stdout).toMatch(/provider +primary +breaker closed\n/)

    world.chain.proxies[2]!.setFault({ kind: 'none' })
    await eventually(async () => (await diagnostics()).providers[2]!.refused === null, 10_000, 'refusal cleared')
    expect(JSON.parse((await d.http('/readyz')).body)).toMatchObject({ usable_providers: ['primary', 'secondary', 'tertiary'], refused_providers: [] })
    expect(sample((await d.http('/metrics')).body, 'settleproof_provider_refused', { provider: 'tertiary' })).toBe(0)
  })

  it('switching chain id mid-run: refused at once, so an invoice paid then is not settled while only one other provider answers, and is settled without it after', async () => {
    const d = await daemon({ breaker: { failure_threshold: 5, success_threshold: 2, open_ms: 300 } })
    const { chain } = world
    await eventually(() => d.daemon.reader.status().lastRoundAt !== null, 10_000, 'first round')
    chain.proxies[2]!.setFault({ kind: 'chain-id', chainId: 1 })
    await eventually(() => d.daemon.providers[2]!.status().refused !== null, 10_000, 'tertiary refused')
    const notReady = JSON.parse((await d.http('/readyz')).body)
    expect(notReady.refused_providers).toEqual([{ name: 'tertiary', reason: `reports chain id 1, expected ${chain.anvil.chainId} (eth_chainId)` }])

    chain.proxies[1]!.setFault({ kind: 'down' })
    const uuid = randomUUID()
    expect((await d.api('acme').post('invoices', { json: { uuid, token: chain.token.address, amount: '7700' } })).statusCode).toBe(201)
    await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 7700n)
    let rounds = 0
    d.daemon.reader.onRound(() => rounds++)
    await eventually(() => rounds >= 10, 10_000, 'ten rounds after the payment')
    expect(((await d.api('acme').get(`invoices/${uuid}`)).body as unknown as Invoice).status).toBe('open')
    expect(JSON.parse((await d.http('/readyz')).body).refused_providers.map((p: { name: string }) => p.name)).toEqual(['tertiary'])

    chain.proxies[1]!.setFault({ kind: 'none' })
    await eventually(async () => ((await d.api('acme').get(`invoices/${uuid}`)).body as unknown as Invoice).status === 'settled', 15_000, 'settled')
    expect(((await d.api('acme').get(`invoices/${uuid}`)).body as unknown as Invoice).settlement!.providers).toEqual(['primary', 'secondary'])
  })
})

describe('a provider that never answers', () => {
  it('does not hold up settlement: invoices settle while its first requests are still unanswered', async () => {
    const { chain } = world
    chain.proxies[2]!.setFault({ kind: 'hang' })
    const d = await daemon({ rpc: { timeout_ms: 30_000, retries: 0, retry_initial_delay_ms: 5, retry_max_delay_ms: 20 } })
    for (const amount of ['8801', '8802', '8803']) {
      const uuid = randomUUID()
      expect((await d.api('acme').post('invoices', { json: { uuid, token: chain.token.address, amount } })).statusCode).toBe(201)
      await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), BigInt(amount))
      await eventually(async () => ((await d.api('acme').get(`invoices/${uuid}`)).body as unknown as Invoice).status === 'settled', 15_000, `invoice for ${amount} settled`)
      expect(((await d.api('acme').get(`invoices/${uuid}`)).body as unknown as Invoice).settlement!.providers).toEqual(['primary', 'secondary'])
    }
    // Its first probe is still held by the proxy: every round and settlement went on without it.
    expect(chain.proxies[2]!.held()).toBe(2)
    expect(chain.proxies[2]!.totalRequests()).toBe(2)
    const diagnostics = JSON.parse((await d.http('/diagnostics')).body) as { providers: { name: string; head: number | null; breaker_state: string }[] }
    expect(diagnostics.providers[2]).toMatchObject({ name: 'tertiary', head: null, breaker_state: 'closed' })
  }, 40_000)
})
