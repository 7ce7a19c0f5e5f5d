import type { Registry } from 'prom-client'
import type { ChainReader } from '../chain/chain-reader.ts'
import type { Config } from '../config/schema.ts'
import { displayDeadLetter, type DeadLetterView } from '../delivery/dead-letter.ts'
import type { OutboxWorker } from '../delivery/outbox-worker.ts'
import type { Store } from '../store/store.ts'
import { diagnostics } from './diagnostics.ts'

/** What the operator API reads from: the running daemon's parts. */
export type OpsSources = { config: Config; reader: ChainReader; store: Store; outbox: OutboxWorker; metrics: Registry }

/**
 * `GET /v1/ops/status`: the chain position and the providers as `/diagnostics` shows them
 * (no URL), each with the ranges it disagreed on since start, plus invoice and delivery counts.
 * `cluster` is null: the lowdb store is one process, which is the only replica and reads the
 * chain itself (replicas and the keeper come with PostgreSQL, SPEC §10).
 */
export async function opsStatus(sources: OpsSources) {
  const { config, reader, store, outbox, metrics } = sources
  const d = await diagnostics(reader, store, outbox)
  const disagreements = await counterValues(metrics, 'settleproof_quorum_disagreements_total')
  return {
    chain_id: config.chain.id,
    quorum: config.quorum,
    checkpoint: d.checkpoint,
    head: d.head,
    safe_head: d.safe_head,
    lag: d.lag,
    providers: d.providers.map((p) => ({ ...p, disagreements: sumWhere(disagreements, { provider: p.name }) })),
    invoices: d.invoices,
    deliveries: d.deliveries,
    cluster: null,
  }
}

/**
 * `GET /v1/ops/merchants`: per merchant, its endpoint's breaker, its pending events, its
 * webhook attempts since this process started (by outcome, from the metrics: one count, kept
 * once) and its dead letters.
 */
export async function merchantsView(sources: OpsSources, letters: readonly DeadLetterView[]) {
  const { config, store, outbox, metrics } = sources
  const breakers = outbox.breakerStates()
  const { queueDepth } = await store.read((r) => r.counts())
  const attempts = await counterValues(metrics, 'settleproof_webhook_deliveries_total')
  return {
    merchants: config.merchants.map(({ id }) => {
      const own = letters.filter((letter) => letter.merchant_id === id)
      return {
        id,
        breaker_state: breakers[id] ?? 'closed',
        pending: queueDepth[id] ?? 0,
        attempts_since_start: {
          delivered: sumWhere(attempts, { merchant: id, outcome: 'delivered' }),
          retrying: sumWhere(attempts, { merchant: id, outcome: 'retrying' }),
          dead: sumWhere(attempts, { merchant: id, outcome: 'dead' }),
        },
        dead_letters: own.length,
        dead_letters_not_replayed: own.filter((letter) => letter.replayed_at === null).length,
      }
    }),
  }
}

/** `GET /v1/ops/dead-letters`: the newest `limit` letters first, each as `dlq list` shows it (webhook URL credentials and query masked). */
export function deadLettersView(letters: readonly DeadLetterView[], limit: number) {
  return {
    total: letters.length,
    not_replayed: letters.filter((letter) => letter.replayed_at === null).length,
    dead_letters: letters.slice(-limit).reverse().map(displayDeadLetter),
  }
}

type CounterValue = { labels: Record<string, string | number>; value: number }

async function counterValues(metrics: Registry, name: string): Promise<CounterValue[]> {
  const metric = metrics.getSingleMetric(name)
  return metric === undefined ? [] : ((await metric.get()).values as CounterValue[])
}

function sumWhere(values: readonly CounterValue[], labels: Record<string, string>): number {
  return values.filter((v) => Object.entries(labels).every(([key, value]) => v.labels[key] === value)).reduce((sum, v) => sum + v.value, 0)
}
