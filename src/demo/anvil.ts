import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createServer } from 'node:net'
import { createTestClient, http, publicActions, walletActions } from 'viem'
import { foundry } from 'viem/chains'
import { SettleProofError } from '../errors.ts'

const require = createRequire(import.meta.url)

/** A real anvil chain on 127.0.0.1, started from the `@foundry-rs/anvil` npm package. */
export type Anvil = {
  url: string
  chainId: number
  /** viem client with test (anvil_*), public and wallet actions; accounts are anvil's unlocked ones. */
  client: ReturnType<typeof createAnvilClient>
  accounts: `0x${string}`[]
  stop(): Promise<void>
}

/**
 * The anvil binary itself, not the npm wrapper script, so that signals reach it directly.
 * @throws {SettleProofError} DEMO_UNAVAILABLE: a production install (`--omit=dev`) has no anvil.
 */
export function anvilBinary(): string {
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`
  try {
    return join(dirname(require.resolve(`${platformPackage}/package.json`)), 'bin', 'anvil')
  } catch (error) {
    throw new SettleProofError('DEMO_UNAVAILABLE', `the demo needs anvil from the development install (npm install in a checkout): ${platformPackage} is not installed`, { cause: error })
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

function createAnvilClient(url: string) {
  return createTestClient({ chain: foundry, mode: 'anvil', transport: http(url, { retryCount: 0 }), cacheTime: 0 })
    .extend(publicActions)
    .extend(walletActions)
}

export type StartAnvilParameters = { chainId?: number; blockTimeSeconds?: number }

export async function startAnvil(parameters: StartAnvilParameters = {}): Promise<Anvil> {
  const chainId = parameters.chainId ?? 31337
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--silent']
    if (parameters.blockTimeSeconds !== undefined) args.push('--block-time', String(parameters.blockTimeSeconds))
    const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] })
    const url = `http://127.0.0.1:${port}`
    const client = createAnvilClient(url)
    try {
      await waitUntilReady(client, child)
    } catch (error) {
      child.kill('SIGKILL')
      if (attempt < 3) continue // the port was taken between freePort() and anvil's bind
      throw error
    }
    const accounts = await client.getAddresses()
    return { url, chainId, client, accounts, stop: () => stopChild(child) }
  }
}

async function waitUntilReady(client: ReturnType<typeof createAnvilClient>, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`)
    try {
      await client.getChainId()
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  throw new Error('anvil did not start within 15 s')
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}
