import { createChainReader, type ChainEventHandler, type ChainReader } from './chain/chain-reader.ts'
import { createRpcProvider, type RpcProvider } from './chain/rpc-provider.ts'
import type { Config } from './config/schema.ts'
import type { Logger } from './ops/logger.ts'
import { openLowdbStore } from './store/lowdb-store.ts'
import type { Store } from './store/store.ts'

/** A running daemon: the store, the providers and the reader loop, wired from one configuration. */
export type Daemon = {
  store: Store
  providers: RpcProvider[]
  reader: ChainReader
  /** Settles when the reader loop ends: resolves after `stop()`, rejects on a fatal error. */
  done: Promise<void>
  /** Stops reading after the round in progress, flushes the store and releases its lock. */
  stop(): Promise<void>
}

export type StartDaemonParameters = {
  config: Config
  logger: Logger
  /** Receives accepted logs and reorg reports inside the checkpoint transaction. */
  handler?: ChainEventHandler
}

/**
 * Opens the store (taking its writer lock), builds one provider per configured endpoint,
 * and starts the quorum reader.
 * @throws {StoreLockedError | StoreCorruptError | StoreChainMismatchError}
 */
export async function startDaemon(parameters: StartDaemonParameters): Promise<Daemon> {
  const { config, logger } = parameters
  const store = await openLowdbStore({ path: config.storage.path })
  try {
    const providers = config.providers.map((provider) => createRpcProvider({ provider, breaker: config.breaker, rpc: config.rpc }))
    for (const provider of providers) {
      const log = logger.child({ component: 'provider', provider: provider.name })
      provider.onBreakerStateChange((state) => {
        const status = provider.status()
        if (state === 'open') log.warn({ state, last_error: status.lastError, half_open_in_ms: status.halfOpenInMs }, 'circuit breaker opened: provider skipped until it half-opens')
        else log.info({ state }, `circuit breaker ${state === 'closed' ? 'closed' : 'half-open'}`)
      })
    }
    const reader = createChainReader({ config, providers, store, logger, handler: parameters.handler ?? (() => undefined) })
    const done = reader.start()
    logger.info({ component: 'daemon', chain_id: config.chain.id, providers: providers.map((p) => p.name), quorum: config.quorum, checkpoint: reader.status().checkpoint }, 'reading the chain')
    let stopping: Promise<void> | null = null
    return {
      store,
      providers,
      reader,
      done,
      stop: () =>
        (stopping ??= (async () => {
          await reader.stop()
          await store.close()
        })()),
    }
  } catch (error) {
    await store.close()
    throw error
  }
}
