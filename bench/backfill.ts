import type { Backend, BenchBackends, BenchPlace } from './backends.ts'
import { BACKENDS } from './backends.ts'
import { join } from 'node:path'
import type { BenchChain } from './chain.ts'
import { failures, measure, ratio, runWorker, succeeded, summary, type FailedRun, type WorkerResult } from './lib.ts'

export const secretOf = (id: string) => `whsec_${Buffer.from(`settleproof-bench-secret-${id}`).toString('base64')}`

/** The daemon's configuration for a benchmark run: three providers (the chain's proxies), two merchants, the store at `place`. */
export function benchConfig(chain: BenchChain, receiverUrl: string, place: BenchPlace, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    chain: { id: chain.anvil.chainId, confirmations: 1, start_block: chain.fromBlock, poll_interval_ms: 100, max_block_range: 1000 },
    providers: chain.proxies.map((p, i) => ({ name: ['primary', 'secondary', 'tertiary'][i], url: p.url })),
    quorum: 2,
    rpc: { timeout_ms: 30_000, retries: 2, retry_initial_delay_ms: 50, retry_max_delay_ms: 500 },
    storage: place.storage,
    dlq: { path: join(place.dir, 'dlq.jsonl') },
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    merchants: (['acme', 'globex'] as const).map((id) => ({
      id,
      webhook_url: `${receiverUrl}/${id}`,
      webhook_secret: secretOf(id),
      api_key: `bench-${id}-api-key`,
      receive_addresses: chain.addresses[id],
      tokens: [chain.token.address],
    })),
    ...overrides,
  }
}

export type BackfillCase = 'honest' | 'one provider down' | 'one provider lying'

type BackfillSystem = Backend | 'floor' | 'peer'

/**
 * Scenario 1: SettleProof on each backend, the floor (one viem sweep) and the peer (ethers
 * FallbackProvider, quorum 2), alternating, `repetitions` times, for one provider condition.
 */
export async function backfill(chain: BenchChain, receiverUrl: string, backends: BenchBackends, condition: BackfillCase, repetitions: number) {
  const fault = condition === 'one provider down' ? ({ kind: 'down' } as const) : condition === 'one provider lying' ? ({ kind: 'lie', lie: 'amount' } as const) : ({ kind: 'none' } as const)
  chain.proxies[2]!.setFault(fault)
  const recipients = [...chain.addresses.acme, ...chain.addresses.globex]
  const expected = chain.payments.length
  const range = { fromBlock: chain.fromBlock, toBlock: chain.toBlock, maxBlockRange: 1000, expected }
  const runs: Record<BackfillSystem, (WorkerResult | FailedRun)[]> = { lowdb: [], postgres: [], floor: [], peer: [] }
  const order: readonly BackfillSystem[] = [...BACKENDS, 'floor', 'peer']
  for (let r = 0; r < repetitions; r++) {
    for (let k = 0; k < order.length; k++) {
      const system = order[(r + k) % order.length]!
      if (system === 'floor') {
        // The floor reads from a provider that works: the first one.
        runs.floor.push(await measure(`backfill ${condition} floor`, () => runWorker('floor-sweep', { url: chain.proxies[0]!.url, token: chain.token.address, recipients, ...range })))
      } else if (system === 'peer') {
        runs.peer.push(await measure(`backfill ${condition} peer`, () => runWorker('peer-sweep', { urls: chain.proxies.map((p) => p.url), chainId: chain.anvil.chainId, token: chain.token.address, recipients, ...range })))
      } else {
        runs[system].push(await measure(`backfill ${condition} ${system}`, () => backends.withPlace(system, (place) => runWorker(process.env.SP_WORKER ?? 'settleproof-backfill', { config: benchConfig(chain, receiverUrl, place), payments: chain.payments, token: chain.token.address }))))
      }
    }
  }
  chain.proxies[2]!.setFault({ kind: 'none' })
  const rate = (results: (WorkerResult | FailedRun)[]) => summary(succeeded(results).map((x) => (x.events / x.elapsedMs) * 1000))
  const lowdb = rate(runs.lowdb)
  const postgres = rate(runs.postgres)
  const floor = rate(runs.floor)
  const peer = rate(runs.peer)
  const rss = (results: (WorkerResult | FailedRun)[]) => Math.max(0, ...succeeded(results).map((x) => x.maxRssMb))
  return {
    condition,
    events: expected,
    blocks: chain.toBlock - chain.fromBlock + 1,
    events_per_second: { lowdb, postgres, floor, peer },
    // Time ratios (one system's time over another's): 1.5 means 1.5× slower.
    time_ratio_vs_floor: { lowdb: ratio(floor.median, lowdb.median), postgres: ratio(floor.median, postgres.median) },
    time_ratio_vs_peer: { lowdb: ratio(peer.median, lowdb.median), postgres: ratio(peer.median, postgres.median) },
    postgres_time_over_lowdb: ratio(lowdb.median, postgres.median),
    target_postgres_over_lowdb: 1.3,
    failed_runs: { lowdb: failures(runs.lowdb), postgres: failures(runs.postgres), floor: failures(runs.floor), peer: failures(runs.peer) },
    transactions: { lowdb: succeeded(runs.lowdb).map((x) => x.extra?.transactions), postgres: succeeded(runs.postgres).map((x) => x.extra?.transactions) },
    postgres_statements: succeeded(runs.postgres).map((x) => x.extra?.statements),
    peak_rss_mb: { lowdb: rss(runs.lowdb), postgres: rss(runs.postgres), floor: rss(runs.floor), peer: rss(runs.peer) },
  }
}
