import { readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { readLowdbStoreSnapshot } from '../../src/store/lowdb/lowdb-store.ts'
import { TEST_WEBHOOK_SECRET } from '../support/config.ts'
import { runCli, startCli, waitForBoundPort, waitForOutput } from '../support/cli.ts'
import { startChainFixture, type ChainFixture } from '../support/reader-harness.ts'

let chain: ChainFixture
let configPath: string
let storePath: string
const API_KEY = 'acme-run-test-api-key'
// The proxies ignore the path: it stands in for the API key a real provider URL carries.
const urlEnv = () => Object.fromEntries(chain.proxies.map((p, i) => [`RPC_URL_${i + 1}`, `${p.url}/v3/provider-key-${i}-SECRET`]))

beforeAll(async () => {
  chain = await startChainFixture()
  storePath = join(chain.dir, 'data', 'settleproof.json')
  configPath = join(chain.dir, 'skill.yaml')
  await writeFile(
    configPath,
    stringify({
      chain: { id: chain.anvil.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 100 },
      providers: [1, 2, 3].map((i) => ({ name: ['primary', 'secondary', 'tertiary'][i - 1], url: `\${RPC_URL_${i}}` })),
      rpc: { timeout_ms: 1000, retries: 1, retry_initial_delay_ms: 10, retry_max_delay_ms: 50 },
      storage: { path: storePath },
      // Port 0: the system picks a free port, the daemon logs it; a fixed port collides under load.
      server: { host: '127.0.0.1', port: 0 },
      merchants: [{ id: 'acme', webhook_url: 'http://127.0.0.1:9/hook', webhook_secret: '${SECRET}', api_key: '${API_KEY}', receive_addresses: chain.merchantAddresses, tokens: [chain.token.address] }],
    }),
  )
})
afterAll(async () => {
  await chain.close()
})

const env = () => ({ ...urlEnv(), SECRET: TEST_WEBHOOK_SECRET, API_KEY })
const accepted = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.includes('transfer accepted by quorum'))
    .map((line) => JSON.parse(line) as { tx_hash: string; block: number })

describe('settleproof run (real child processes and signals)', () => {
  it('reads under quorum, refuses a second process on the same store, survives SIGKILL, and stops cleanly on SIGTERM', async () => {
    const first = startCli(['run', '--config', configPath], { env: env() })
    const port = await waitForBoundPort(first)
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
    const paidBefore = [await chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, 1_001n), await chain.token.transfer(chain.payer, chain.merchantAddresses[1]!, 1_002n)]
    for (const hash of paidBefore) await waitForOutput(first, new RegExp(hash))

    // Refused before it reads anything (a slow start on a loaded machine is not a refusal: bounded at 45 s).
    const second = await runCli(['run', '--config', configPath], { env: env(), timeoutMs: 45_000 })
    expect(second.stdout).not.toContain('reading the chain')
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`is in use by another settleproof process (pid ${first.pid})`)

    first.kill('SIGKILL')
    await first.exited
    const checkpointAtKill = (await readLowdbStoreSnapshot(storePath))!.chain!.checkpoint

    const paidWhileDown = await chain.token.transfer(chain.payer, chain.merchantAddresses[0]!, 1_003n)
    const third = startCli(['run', '--config', configPath], { env: env() })
    await waitForOutput(third, new RegExp(paidWhileDown))
    const resumedAt = JSON.parse(third.output.stdout.split('\n').find((line) => line.includes('reading the chain'))!).checkpoint
    expect(resumedAt).toBe(checkpointAtKill)
    third.kill('SIGTERM')
    const stopped = await third.exited
    expect(stopped.code).toBe(0)
    expect(stopped.stdout).toContain('"stopped"')
    // The owner record is gone; the lock file stays (deleting it would let two processes lock two files).
    expect(existsSync(`${storePath}.lock.owner`)).toBe(false)

    // Each payment accepted once per process that read its block, and the restart re-read none.
    const seenByFirst = accepted(first.output.stdout).map((l) => l.tx_hash)
    const seenByThird = accepted(third.output.stdout).map((l) => l.tx_hash)
    expect(seenByFirst).toEqual(expect.arrayContaining(paidBefore))
    expect(seenByThird).toEqual([paidWhileDown])

    for (const output of [first.output, second, stopped]) {
      expect(output.stdout + output.stderr).not.toContain('SECRET')
      expect(output.stdout + output.stderr).not.toContain(API_KEY)
      // node:sqlite (the writer lock) prints no ExperimentalWarning on the project's Node.
      expect(output.stderr).not.toContain('Warning')
    }
  })

  // A container restart gives the new process the dead one's pid (node is pid 1 in the image);
  // after a host reboot a left-over pid names some live, unrelated process. Neither may block.
  for (const [label, pid] of [
    ['pid 1, as after a container restart', 1],
    ["a live, unrelated process (this test's pid)", process.pid],
  ] as const) {
    it(`starts although the lock files a previous process left name ${label}, and still refuses a second live process`, async () => {
      const record = JSON.stringify({ pid, host: 'previous-host', since: '2020-01-01T00:00:00.000Z' })
      await writeFile(`${storePath}.lock`, record)
      await writeFile(`${storePath}.lock.owner`, record)
      const daemon = startCli(['run', '--config', configPath], { env: env() })
      await waitForOutput(daemon, /reading the chain/)
      const second = await runCli(['run', '--config', configPath], { env: env(), timeoutMs: 45_000 })
      expect(second.stdout).not.toContain('reading the chain')
      expect(second.code).toBe(1)
      expect(second.stderr.trim()).toBe(`settleproof: store ${storePath} is in use by another settleproof process (pid ${daemon.pid}): stop that process first, or point storage.path elsewhere`)
      daemon.kill('SIGTERM')
      expect((await daemon.exited).code).toBe(0)
    })
  }

  it('stops with exit 1 and a clear message on a corrupt store, leaving it as it was', async () => {
    const corrupt = join(chain.dir, 'corrupt.json')
    await writeFile(corrupt, '{"format":"settleproof-store","version":1,"chain":{"chainId":31337,"checkp')
    const config = (await readFile(configPath, 'utf8')).replace(storePath, corrupt)
    const path = join(chain.dir, 'corrupt.yaml')
    await writeFile(path, config)
    const result = await runCli(['run', '--config', path], { env: env() })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`store ${corrupt} is unreadable (not valid JSON)`)
    expect(await readFile(corrupt, 'utf8')).toBe('{"format":"settleproof-store","version":1,"chain":{"chainId":31337,"checkp')
  })
})
