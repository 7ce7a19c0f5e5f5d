import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchChain } from './chain.ts'
import { round, runWorker, summary, type WorkerResult } from './lib.ts'

export const secretOf = (id: string) => `whsec_${Buffer.from(`settleproof-bench-secret-${id}`).toString('base64')}`

/** The daemon's configuration for a benchmark run: three providers (the chain's proxies), two merchants. */
export function benchConfig(chain: BenchChain, receiverUrl: string, dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    chain: { id: chain.anvil.chainId, confirmations: 1, start_block: chain.fromBlock, poll_interval_ms: 100, max_block_range: 1000 },
    providers: chain.proxies.map((p, i) => ({ name: ['primary', 'secondary', 'tertiary'][i], url: p.url })),
    quorum: 2,
    rpc: { timeout_ms: 30_000, retries: 2, retry_initial_delay_ms: 50, retry_max_delay_ms: 500 },
    storage: { path: join(dir, 'settleproof.json') },
    dlq: { path: join(dir, 'dlq.jsonl') },
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

/**
 * Scenario 1: SettleProof, the floor (one viem sweep) and the peer (ethers FallbackProvider,
 * quorum 2), alternating, `repetitions` times, for one provider condition.
 */
export async function backfill(chain: BenchChain, receiverUrl: string, condition: BackfillCase, repetitions: number) {
  const fault = condition === 'one provider down' ? ({ kind: 'down' } as const) : condition === 'one provider lying' ? ({ kind: 'lie', lie: 'amount' } as const) : ({ kind: 'none' } as const)
  chain.proxies[2]!.setFault(fault)
  const recipients = [...chain.addresses.acme, ...chain.addresses.globex]
  const expected = chain.payments.length
  const range = { fromBlock: chain.fromBlock, toBlock: chain.toBlock, maxBlockRange: 1000, expected }
  const runs: Record<'settleproof' | 'floor' | 'peer', WorkerResult[]> = { settleproof: [], floor: [], peer: [] }
  const order = ['settleproof', 'floor', 'peer'] as const
  for (let r = 0; r < repetitions; r++) {
    for (let k = 0; k < order.length; k++) {
      const system = order[(r + k) % order.length]!
      if (system === 'floor') {
        // The floor reads from a provider that works: the first one.
        runs.floor.push(await runWorker('floor-sweep', { url: chain.proxies[0]!.url, token: chain.token.address, recipients, ...range }))
      } else if (system === 'peer') {
        runs.peer.push(await runWorker('peer-sweep', { urls: chain.proxies.map((p) => p.url), chainId: chain.anvil.chainId, token: chain.token.address, recipients, ...range }))
      } else {
        const dir = await mkdtemp(join(tmpdir(), 'settleproof-bench-'))
        try {
          runs.settleproof.push(await runWorker(process.env.SP_WORKER ?? 'settleproof-backfill', { config: benchConfig(chain, receiverUrl, dir), payments: chain.payments, token: chain.token.address }))
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      }
    }
  }
  chain.proxies[2]!.setFault({ kind: 'none' })
  const rate = (results: WorkerResult[]) => summary(results.map((x) => (x.events / x.elapsedMs) * 1000))
  const sp = rate(runs.settleproof)
  const floor = rate(runs.floor)
  const peer = rate(runs.peer)
  return {
    condition,
    events: expected,
    blocks: chain.toBlock - chain.fromBlock + 1,
    events_per_second: { settleproof: sp, floor, peer },
    // Time ratios (SettleProof's time over the other's): 1.5 means 1.5× slower.
    time_ratio_vs_floor: round(floor.median / sp.median, 2),
    time_ratio_vs_peer: round(peer.median / sp.median, 2),
    peak_rss_mb: { settleproof: Math.max(...runs.settleproof.map((x) => x.maxRssMb)), floor: Math.max(...runs.floor.map((x) => x.maxRssMb)), peer: Math.max(...runs.peer.map((x) => x.maxRssMb)) },
  }
}
