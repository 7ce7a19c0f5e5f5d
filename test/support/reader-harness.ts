import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import { createChainReader, type ChainEvent, type ChainReader } from '../../src/chain/chain-reader.ts'
import { createRpcProvider, type RpcProvider } from '../../src/chain/rpc-provider.ts'
import type { Config } from '../../src/config/schema.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { Store } from '../../src/store/store.ts'
import { startAnvil, type Anvil } from './anvil.ts'
import { testConfig } from './config.ts'
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts'
import { deployToken, type TestToken } from './token.ts'

/** A chain with a token, three faultable providers in front of it, and addresses to pay. */
export type ChainFixture = {
  anvil: Anvil
  token: TestToken
  proxies: FaultProxy[]
  payer: Address
  merchantAddresses: Address[]
  /** An anvil account that belongs to no merchant. */
  stranger: Address
  dir: string
  close(): Promise<void>
}

export async function startChainFixture(): Promise<ChainFixture> {
  const anvil = await startAnvil()
  const token = await deployToken(anvil)
  const [payer, m1, m2, stranger] = anvil.accounts.map((a) => a.toLowerCase() as Address)
  await token.mint(payer!, 10n ** 15n)
  const proxies = await Promise.all([0, 1, 2].map(() => startFaultProxy(anvil.url)))
  const dir = await mkdtemp(join(tmpdir(), 'settleproof-test-'))
  return {
    anvil,
    token,
    proxies,
    payer: payer!,
    merchantAddresses: [m1!, m2!],
    stranger: stranger!,
    dir,
    async close() {
      await Promise.all(proxies.map((p) => p.close()))
      await anvil.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A reader over the fixture's proxies with its own store; `events` collects only what was committed. */
export type ReaderUnderTest = {
  config: Config
  store: Store
  providers: RpcProvider[]
  reader: ChainReader
  events: ChainEvent[]
  close(): Promise<void>
}

/**
 * `wrapStore` puts something between the reader and its store (`retryingStore`, to run every
 * transaction twice as PostgreSQL may).
 */
export async function startReader(fixture: ChainFixture, overrides: Record<string, unknown> = {}, storeName = 'store.json', wrapStore: (store: Store) => Store = (store) => store): Promise<ReaderUnderTest> {
  const config = testConfig({
    chainId: fixture.anvil.chainId,
    providerUrls: fixture.proxies.map((p) => p.url),
    token: fixture.token.address,
    receiveAddresses: fixture.merchantAddresses,
    storagePath: join(fixture.dir, storeName),
    overrides,
  })
  const store = wrapStore(await openStore(config, { logger: silentLogger() }))
  const providers = config.providers.map((provider) => createRpcProvider({ provider, chainId: config.chain.id, breaker: config.breaker, rpc: config.rpc }))
  const events: ChainEvent[] = []
  // The handler runs inside the transaction; an event counts only once that transaction committed.
  const reader = await createChainReader({
    config,
    providers,
    store,
    logger: silentLogger(),
    handler: (event) => () => void events.push(event),
  })
  return {
    config,
    store,
    providers,
    reader,
    events,
    async close() {
      await reader.stop()
      await store.close()
    },
  }
}

/** Runs rounds until the reader has caught up with the chain's safe head (bounded; pauses after a round without quorum). */
export async function readUntilCaughtUp(reader: ChainReader, maxRounds = 50, pauseMs = 20): Promise<void> {
  for (let i = 0; i < maxRounds; i++) {
    const outcome = await reader.runRound()
    if (outcome.kind === 'idle' || (outcome.kind === 'advanced' && outcome.caughtUp)) return
    if (outcome.kind === 'no_quorum') await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  throw new Error(`reader did not catch up within ${maxRounds} rounds`)
}

export function acceptedLogs(events: readonly ChainEvent[]) {
  return events.flatMap((event) => (event.type === 'logs' ? event.logs : []))
}
