import type { ChainReader } from '../chain/chain-reader.ts'
import type { OutboxWorker } from '../delivery/outbox-worker.ts'
import type { Store } from '../store/store.ts'

/** What `/diagnostics` and `settleproof status` show: no URL, no secret. */
export type Diagnostics = Awaited<ReturnType<typeof diagnostics>>

export async function diagnostics(reader: ChainReader, store: Store, outbox: OutboxWorker) {
  const status = reader.status()
  const counts = await store.read((r) => r.counts())
  return {
    checkpoint: status.checkpoint,
    head: status.head,
    safe_head: status.safeHead,
    lag: status.lag,
    max_block_range: status.maxBlockRange,
    providers: status.providers.map((p) => ({
      name: p.name,
      breaker_state: p.state,
      /** Why its answers are refused (it counts toward no quorum), or null. */
      refused: p.refused,
      /** The head its last probe reported, even after the round stopped waiting for it; null if that probe failed. */
      head: p.head,
      consecutive_failures: p.consecutiveFailures,
      last_error: p.lastError,
      half_open_in_ms: p.halfOpenInMs,
      latency_ms: p.latencyMs === null ? null : Math.round(p.latencyMs * 10) / 10,
    })),
    invoices: counts.invoices,
    deliveries: counts.outbox,
    queue_depth: counts.queueDepth,
    merchant_breakers: outbox.breakerStates(),
  }
}
