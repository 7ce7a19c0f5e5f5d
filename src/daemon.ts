import type { Registry } from 'prom-client'
import { initialBackfillProgress, observeRound } from './chain/backfill-progress.ts'
import { createChainReader, type ChainReader } from './chain/chain-reader.ts'
import { createRpcProvider, type RpcProvider } from './chain/rpc-provider.ts'
import type { Config } from './config/schema.ts'
import { createDlqReconciler } from './delivery/dlq-reconcile.ts'
import { createOutboxWorker, type OutboxWorker } from './delivery/outbox-worker.ts'
import { createMetrics } from './ops/metrics.ts'
import { operatorConsole } from './ops/operator-console.ts'
import { opsRoutes } from './ops/ops-routes.ts'
import { startHttpServer, type HttpServer } from './ops/http-server.ts'
import { startWaitingServer, type WaitingServer } from './ops/waiting-server.ts'
import type { Logger } from './ops/logger.ts'
import { invoiceRoutes } from './settlement/invoice-routes.ts'
import { createSettlementHandler, type SettlementHandler } from './settlement/settlement-handler.ts'
import { openStore } from './store/open-store.ts'
import { isStoreOutage, retryWhileUnavailable } from './store/outage-backoff.ts'
import type { Store } from './store/store.ts'

/** A running daemon: store, providers, reader, settlement, outbox and HTTP server, wired from one configuration. */
export type Daemon = {
  config: Config
  store: Store
  providers: RpcProvider[]
  reader: ChainReader
  settlement: SettlementHandler
  outbox: OutboxWorker
  server: HttpServer
  metrics: Registry
  /** Settles when the daemon stopped: resolves after `stop()`, rejects on a fatal error. */
  done: Promise<void>
  /** Stops reading, drains attempts in flight (up to `webhooks.drain_timeout_ms`), closes the server and flushes the store. */
  stop(): Promise<void>
}

export type StartDaemonParameters = {
  config: Config
  logger: Logger
  /** The jitter source of webhook backoff (tests pin it to see the schedule); Math.random by default. */
  random?: () => number
  /** Ends the wait for a store that cannot be reached at start-up (SIGTERM then): `startDaemon` rejects with the last `StoreUnavailableError`. */
  signal?: AbortSignal
}

/** How often the dead letters are checked for replays made by `settleproof dlq replay`. */
const DLQ_RECONCILE_EVERY_MS = 2_000

/** Compaction runs this often: settled, notified invoices below the reorg window leave the hot store. */
const COMPACT_EVERY_MS = 30_000

/**
 * Tells the operator where the reader is: a backfill's start, progress at most every 10 s and
 * its end (backfill-progress.ts decides); with `log.level: debug`, each round's outcome and
 * each RPC attempt with its timing.
 */
function logReaderProgress(reader: ChainReader, providers: readonly RpcProvider[], logger: Logger): void {
  const log = logger.child({ component: 'reader' })
  let progress = initialBackfillProgress
  reader.onRound((outcome) => {
    const step = observeRound(progress, outcome, reader.status(), Date.now())
    progress = step.progress
    for (const line of step.lines) log.info(line.fields, line.message)
    if (log.isLevelEnabled('debug')) log.debug({ ...outcome, outcome: outcome.kind, kind: undefined }, 'round')
  })
  if (!log.isLevelEnabled('debug')) return
  for (const provider of providers) {
    provider.onAttempt((attempt) => log.debug({ provider: attempt.provider, method: attempt.method, outcome: attempt.outcome, duration_ms: Math.round(attempt.durationMs) }, 'rpc attempt'))
  }
}

/**
 * Opens the store. A database that cannot be reached yet is not fatal (SPEC §9): the open is
 * tried again with the store's backoff, each wait logged with the reason (never the URL), and
 * a waiting server holds `server.port` meanwhile (`/readyz` 503 with the reason, `/healthz`
 * 200). Anything else the backend refuses at open fails at once, as before.
 * @returns the store, and the waiting server if one was started (the caller closes it and takes its port).
 */
async function openStoreWhenReachable(config: Config, logger: Logger, signal: AbortSignal | undefined): Promise<{ store: Store; waiting: WaitingServer | null }> {
  const log = logger.child({ component: 'store' })
  let waiting: WaitingServer | null = null
  try {
    const store = await retryWhileUnavailable(
      async () => {
        try {
          return await openStore(config, { logger })
        } catch (error) {
          if (isStoreOutage(error)) {
            if (waiting === null) waiting = await startWaitingServer({ host: config.server.host, port: config.server.port, logger, outage: error })
            else waiting.unavailable(error)
          }
          throw error
        }
      },
      { signal, onRetry: (error, delayMs) => log.warn({ reason: error.message, retry_in_ms: delayMs, port: waiting?.port }, 'the store cannot be reached at start-up: waiting for it (/readyz answers 503 meanwhile)') },
    )
    if (waiting !== null) log.info('the store is reachable: starting')
    return { store, waiting }
  } catch (error) {
    await (waiting as WaitingServer | null)?.close()
    throw error
  }
}

/**
 * Opens the store `storage.driver` names (lowdb: taking its writer lock; PostgreSQL: waiting
 * for the database while it cannot be reached), then starts the reader, the outbox and the
 * HTTP server.
 * @throws {StoreChainMismatchError | ServerListenError} or what the backend refuses at open (lowdb: `StoreLockedError`, `StoreLocationError`, `StoreCorruptError`).
 * @throws {StoreUnavailableError} only once `signal` ended the wait for the database.
 */
export async function startDaemon(parameters: StartDaemonParameters): Promise<Daemon> {
  const { config, logger } = parameters
  const opened = await openStoreWhenReachable(config, logger, parameters.signal)
  const store = opened.store
  let waiting = opened.waiting
  const cleanup: (() => Promise<void>)[] = [() => store.close(), async () => await waiting?.close()]
  try {
    const providers = config.providers.map((provider) => createRpcProvider({ provider, chainId: config.chain.id, breaker: config.breaker, rpc: config.rpc }))
    for (const provider of providers) {
      const log = logger.child({ component: 'provider', provider: provider.name })
      provider.onBreakerStateChange((state) => {
        const status = provider.status()
        if (state === 'open') log.warn({ state, last_error: status.lastError, half_open_in_ms: status.halfOpenInMs }, 'circuit breaker opened: provider skipped until it half-opens')
        else log.info({ state }, `circuit breaker ${state === 'closed' ? 'closed' : 'half-open'}`)
      })
      provider.onRefusalChange((refused) => {
        if (refused !== null) log.error({ refused }, 'provider refused: it counts toward no quorum until it answers the refused methods well again')
        else log.info('provider answers well again: refusal cleared')
      })
    }
    const outbox = createOutboxWorker({ config, store, logger, ...(parameters.random ? { random: parameters.random } : {}) })
    const settlement = createSettlementHandler({ config, onNotificationsQueued: () => outbox.wake() })
    const settlementLog = logger.child({ component: 'settlement' })
    settlement.onOutcome((outcome) => {
      if (outcome.kind === 'duplicate') settlementLog.info({ tx_hash: outcome.log.txHash, block: outcome.log.blockNumber }, 'duplicate transfer dropped')
      else {
        const fields = { merchant: outcome.merchantId, tx_hash: outcome.log.txHash, block: outcome.log.blockNumber, log_index: outcome.log.logIndex, amount: outcome.log.value, webhook_id: outcome.webhookId }
        if (outcome.kind === 'settled') settlementLog.info({ ...fields, invoice_uuid: outcome.invoiceUuid, providers: outcome.log.providers }, 'invoice settled')
        else if (outcome.kind === 'reverted') settlementLog.warn({ ...fields, invoice_uuid: outcome.invoiceUuid }, 'settlement reverted by a reorg: invoice reopened')
        else settlementLog.info(fields, 'payment matched no invoice: payment.unmatched')
      }
    })
    const reader = await createChainReader({ config, providers, store, logger, handler: settlement.handler })
    logReaderProgress(reader, providers, logger)
    const dlqReconciler = createDlqReconciler({ deadLetters: store.deadLetters, store })
    dlqReconciler.onRecorded((replay) =>
      logger.info({ component: 'outbox', webhook_id: replay.webhookId, invoice_uuid: replay.invoiceUuid, merchant: replay.merchantId, type: replay.type, replayed_at: replay.replayedAt }, 'replayed dead letter recorded as delivered'),
    )
    const metrics = createMetrics({ config, providers, reader, settlement, outbox, store, dlqReconciler })
    // The waiting server hands its port over (the one it was given, or the one the system picked for port 0).
    const port = waiting?.port ?? config.server.port
    await waiting?.close()
    waiting = null
    const server = await startHttpServer({
      host: config.server.host,
      port,
      logger,
      routes: [...invoiceRoutes({ config, store, logger }), ...opsRoutes({ config, reader, store, outbox, metrics, startedAt: Date.now() })],
      plugins: operatorConsole({ config, reader, store, outbox, metrics }),
    })
    cleanup.unshift(() => server.close())

    const compact = async () => {
      const finalBlock = reader.status().checkpoint - config.chain.reorg_window
      const archived = await store.compact(finalBlock)
      if (archived > 0) logger.info({ component: 'store', archived, below_block: finalBlock }, 'settled invoices archived')
    }
    const readerDone = reader.start()
    const outboxDone = outbox.start()
    let compacting: Promise<void> = Promise.resolve()
    // Both run again on their next tick: a store out of reach only delays them (the reader and the outbox log the outage).
    const compactTimer = setInterval(() => {
      compacting = compacting.then(compact).catch((error: unknown) => {
        if (isStoreOutage(error)) logger.debug({ component: 'store', reason: error.message }, 'compaction waits for the store')
        else logger.error({ component: 'store', err: error }, 'compaction failed')
      })
    }, COMPACT_EVERY_MS)
    const reconcileTimer = setInterval(() => {
      compacting = compacting
        .then(() => dlqReconciler.reconcile())
        .then(() => undefined)
        .catch((error: unknown) => {
          if (isStoreOutage(error)) logger.debug({ component: 'outbox', reason: error.message }, 'recording dlq replays waits for the store')
          else logger.error({ component: 'outbox', err: error }, 'reading the DLQ file failed')
        })
    }, DLQ_RECONCILE_EVERY_MS)
    logger.info(
      { component: 'daemon', chain_id: config.chain.id, providers: providers.map((p) => p.name), quorum: config.quorum, checkpoint: reader.status().checkpoint, port: server.port },
      'reading the chain',
    )

    let stopping: Promise<void> | null = null
    const stop = () =>
      (stopping ??= (async () => {
        clearInterval(compactTimer)
        clearInterval(reconcileTimer)
        await reader.stop()
        await outbox.stop(config.webhooks.drain_timeout_ms)
        await compacting
        await server.close()
        await store.close()
      })())
    // A storage failure ends the daemon at once, even when no loop would touch the store again soon.
    const done = Promise.race([Promise.all([readerDone, outboxDone]).then(() => undefined), store.failed])
    return { config, store, providers, reader, settlement, outbox, server, metrics, done, stop }
  } catch (error) {
    for (const step of cleanup) await step().catch(() => undefined)
    throw error
  }
}
