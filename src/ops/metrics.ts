import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ChainReader } from '../chain/chain-reader.ts'
import type { BreakerStateName, RpcProvider } from '../chain/rpc-provider.ts'
import type { Config } from '../config/schema.ts'
import type { DlqReconciler } from '../delivery/dlq-reconcile.ts'
import type { OutboxWorker } from '../delivery/outbox-worker.ts'
import type { SettlementHandler } from '../settlement/settlement-handler.ts'
import { isStoreOutage } from '../store/outage-backoff.ts'
import type { Store } from '../store/store.ts'

/** SPEC §8's gauge encoding of a breaker. */
export const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, open: 1, half_open: 2, isolated: 1 }

export type MetricsSources = {
  config: Config
  providers: readonly RpcProvider[]
  reader: ChainReader
  settlement: SettlementHandler
  outbox: OutboxWorker
  store: Store
  /** Replays made by `settleproof dlq replay`, recorded by the daemon: each counts as a delivery. */
  dlqReconciler: DlqReconciler
}

/**
 * Builds the registry of SPEC §8 and subscribes it to the components' events: the logic
 * never calls metrics. Labels are bounded: provider and merchant names from configuration,
 * methods, outcomes and states from fixed sets; never a hash, an id or a URL.
 */
export function createMetrics(sources: MetricsSources): Registry {
  const { config, providers, reader, settlement, outbox, store, dlqReconciler } = sources
  const register = new Registry()
  collectDefaultMetrics({ register })
  // prom-client names three gauges with a `_total` suffix, which promtool rejects; their
  // per-type siblings (nodejs_active_handles{type}, ...) carry the same information.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) register.removeSingleMetric(name)
  const merchants = config.merchants.map((m) => m.id)

  const rpcDuration = new Histogram({
    name: 'settleproof_rpc_request_duration_seconds',
    help: 'Duration of JSON-RPC attempts that reached the network, by provider and method.',
    labelNames: ['provider', 'method'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [register],
  })
  const rpcRequests = new Counter({
    name: 'settleproof_rpc_requests_total',
    help: 'JSON-RPC attempts by outcome: ok, timeout, transient, range_too_large, refused, circuit_open (failed fast, no network call).',
    labelNames: ['provider', 'method', 'outcome'],
    registers: [register],
  })
  const breakerState = new Gauge({ name: 'settleproof_circuit_breaker_state', help: 'Provider circuit breaker: 0 closed, 1 open, 2 half-open.', labelNames: ['provider'], registers: [register] })
  const refused = new Gauge({ name: 'settleproof_provider_refused', help: 'Provider refused (another chain id, HTTP 401/403, malformed answers): 1 while it counts toward no quorum, else 0.', labelNames: ['provider'], registers: [register] })
  const breakerTransitions = new Counter({ name: 'settleproof_circuit_breaker_transitions_total', help: 'Provider circuit breaker transitions, by the state entered.', labelNames: ['provider', 'to'], registers: [register] })
  const rounds = new Counter({ name: 'settleproof_quorum_rounds_total', help: 'Reader rounds run.', registers: [register] })
  const quorumFailures = new Counter({ name: 'settleproof_quorum_failures_total', help: 'Rounds in which fewer than quorum providers answered or agreed; the checkpoint did not move.', registers: [register] })
  const disagreements = new Counter({ name: 'settleproof_quorum_disagreements_total', help: 'Ranges where a provider answered differently from the quorum, or was refused.', labelNames: ['provider'], registers: [register] })
  new Gauge({ name: 'settleproof_last_processed_block', help: 'The checkpoint: every block up to it was read under quorum.', registers: [register], collect() { this.set(reader.status().checkpoint) } })
  new Gauge({ name: 'settleproof_chain_head_block', help: 'The quorum head: the highest block at least quorum providers reached.', registers: [register], collect() { const head = reader.status().head; if (head !== null) this.set(head) } })
  const duplicates = new Counter({ name: 'settleproof_duplicate_events_dropped_total', help: 'Transfers seen again (after a reorg re-read or a repeat) and dropped.', registers: [register] })
  const settled = new Counter({ name: 'settleproof_invoices_settled_total', help: 'Invoices settled, by merchant.', labelNames: ['merchant'], registers: [register] })
  const verificationLatency = new Histogram({
    name: 'settleproof_invoice_verification_latency_seconds',
    help: 'From the paying block\'s timestamp to the settlement.',
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers: [register],
  })
  const deliveries = new Counter({ name: 'settleproof_webhook_deliveries_total', help: 'Webhook attempts by outcome: delivered, retrying, dead.', labelNames: ['merchant', 'outcome'], registers: [register] })
  const dlq = new Counter({ name: 'settleproof_webhook_dlq_total', help: 'Events written to the dead-letter file, by merchant.', labelNames: ['merchant'], registers: [register] })
  new Gauge({
    name: 'settleproof_webhook_queue_depth',
    help: 'Pending webhook events (queued, in flight, retrying), by merchant.',
    labelNames: ['merchant'],
    registers: [register],
    async collect() {
      // While the store is out of reach the last depths stay: a scrape still answers (breakers, rounds), as the outage goes on.
      const counts = await store.read((r) => r.counts()).catch((error: unknown) => {
        if (isStoreOutage(error)) return null
        throw error
      })
      if (counts === null) return
      const depth = counts.queueDepth
      for (const merchant of merchants) this.set({ merchant }, depth[merchant] ?? 0)
    },
  })
  const reorgs = new Counter({ name: 'settleproof_reorgs_total', help: 'Reorgs detected below the checkpoint and rolled back.', registers: [register] })

  // Every bounded label set exists from the start, so rate() and alerts see zeros, not gaps.
  for (const provider of providers) {
    breakerState.set({ provider: provider.name }, 0)
    refused.set({ provider: provider.name }, provider.status().refused === null ? 0 : 1)
    disagreements.inc({ provider: provider.name }, 0)
    for (const to of ['open', 'half_open', 'closed']) breakerTransitions.inc({ provider: provider.name, to }, 0)
    for (const method of ['eth_chainId', 'eth_blockNumber', 'eth_getLogs', 'eth_getBlockByNumber']) {
      for (const outcome of ['ok', 'timeout', 'transient', 'range_too_large', 'refused', 'circuit_open']) rpcRequests.inc({ provider: provider.name, method, outcome }, 0)
    }
    provider.onAttempt((attempt) => {
      rpcRequests.inc({ provider: attempt.provider, method: attempt.method, outcome: attempt.outcome })
      if (attempt.outcome !== 'circuit_open') rpcDuration.observe({ provider: attempt.provider, method: attempt.method }, attempt.durationMs / 1000)
    })
    provider.onRefusalChange((reason) => refused.set({ provider: provider.name }, reason === null ? 0 : 1))
    provider.onBreakerStateChange((state) => {
      breakerState.set({ provider: provider.name }, BREAKER_STATE_VALUE[state])
      breakerTransitions.inc({ provider: provider.name, to: state })
    })
  }
  for (const merchant of merchants) {
    settled.inc({ merchant }, 0)
    dlq.inc({ merchant }, 0)
    for (const outcome of ['delivered', 'retrying', 'dead']) deliveries.inc({ merchant, outcome }, 0)
  }
  reader.onRound((outcome) => {
    rounds.inc()
    if (outcome.kind === 'no_quorum') quorumFailures.inc()
    if (outcome.kind === 'reorg') reorgs.inc()
  })
  reader.onDisagreement((d) => disagreements.inc({ provider: d.provider }))
  settlement.onOutcome((outcome) => {
    if (outcome.kind === 'duplicate') duplicates.inc()
    if (outcome.kind === 'settled') {
      settled.inc({ merchant: outcome.merchantId })
      if (outcome.latencySeconds !== null) verificationLatency.observe(outcome.latencySeconds)
    }
  })
  outbox.onAttempt((attempt) => {
    deliveries.inc({ merchant: attempt.merchantId, outcome: attempt.outcome })
    if (attempt.outcome === 'dead') dlq.inc({ merchant: attempt.merchantId })
  })
  dlqReconciler.onRecorded((replay) => deliveries.inc({ merchant: replay.merchantId, outcome: 'delivered' }))
  return register
}
