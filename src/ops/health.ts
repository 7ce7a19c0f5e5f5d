import type { ProviderStatus } from '../chain/rpc-provider.ts'
import type { Config } from '../config/schema.ts'
import type { StoreAvailability } from '../store/store.ts'

export type Readiness = { ready: boolean; reasons: string[]; usable_providers: string[]; refused_providers: { name: string; reason: string }[] }

/**
 * `/readyz`: ready only while the store can serve (open, and its database reachable) and at
 * least `quorum` providers are usable (breaker not open, not refused); the store's reason is
 * given as it says it. Refused providers are listed with their reason whether or not the
 * quorum still holds without them.
 */
export function readiness(status: { providers: readonly ProviderStatus[] }, quorum: number, store: StoreAvailability): Readiness {
  const reasons: string[] = []
  if (!store.available) reasons.push(store.reason)
  const usable = status.providers.filter((p) => p.state !== 'open' && p.state !== 'isolated' && p.refused === null).map((p) => p.name)
  if (usable.length < quorum) {
    const unusable = status.providers.filter((p) => !usable.includes(p.name)).map((p) => `${p.name} (${p.refused === null ? `breaker ${p.state}` : `refused: ${p.refused}`})`)
    reasons.push(`${usable.length} of ${status.providers.length} providers usable, quorum needs ${quorum}: ${unusable.join(', ')}`)
  }
  const refused = status.providers.flatMap((p) => (p.refused === null ? [] : [{ name: p.name, reason: p.refused }]))
  return { ready: reasons.length === 0, reasons, usable_providers: usable, refused_providers: refused }
}

/**
 * How long the main loop may go without finishing a round before `/healthz` fails: a round
 * can legitimately spend every retry of a timed-out call, so the bound is generous.
 */
export function livenessBudgetMs(config: Pick<Config, 'chain' | 'rpc'>): number {
  const worstCall = config.rpc.timeout_ms * (config.rpc.retries + 1) + config.rpc.retry_max_delay_ms * config.rpc.retries
  return Math.max(60_000, 3 * (config.chain.poll_interval_ms + 2 * worstCall))
}

export type Liveness = { live: boolean; last_round_age_ms: number | null }

/** `/healthz`: live while the main loop ticks (a round finished within the budget, or it is starting). */
export function liveness(lastRoundAt: number | null, startedAt: number, budgetMs: number, nowMs: number): Liveness {
  const since = lastRoundAt ?? startedAt
  return { live: nowMs - since <= budgetMs, last_round_age_ms: lastRoundAt === null ? null : nowMs - lastRoundAt }
}
