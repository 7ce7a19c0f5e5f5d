import type { Registry } from 'prom-client'
import type { ChainReader } from '../chain/chain-reader.ts'
import type { Config } from '../config/schema.ts'
import type { OutboxWorker } from '../delivery/outbox-worker.ts'
import type { Store } from '../store/store.ts'
import { diagnostics } from './diagnostics.ts'
import { liveness, livenessBudgetMs, readiness } from './health.ts'
import type { Route } from './http-server.ts'

export type OpsRoutesParameters = { config: Config; reader: ChainReader; store: Store; outbox: OutboxWorker; metrics: Registry; startedAt: number }

/** `/metrics`, `/healthz`, `/readyz`, `/diagnostics` (SPEC §8). No authentication: bind server.host to a private interface. */
export function opsRoutes(parameters: OpsRoutesParameters): Route[] {
  const { config, reader, store, outbox, metrics, startedAt } = parameters
  const budget = livenessBudgetMs(config)
  return [
    {
      method: 'GET',
      path: '/metrics',
      handle: async () => ({ status: 200, body: await metrics.metrics(), headers: { 'content-type': metrics.contentType } }),
    },
    {
      method: 'GET',
      path: '/healthz',
      handle: () => {
        const live = liveness(reader.status().lastRoundAt, startedAt, budget, Date.now())
        return { status: live.live ? 200 : 503, body: { status: live.live ? 'ok' : 'stalled', ...live } }
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      handle: () => {
        const ready = readiness(reader.status(), config.quorum, store.availability())
        return { status: ready.ready ? 200 : 503, body: { status: ready.ready ? 'ready' : 'not_ready', ...ready } }
      },
    },
    { method: 'GET', path: '/diagnostics', handle: async () => ({ status: 200, body: await diagnostics(reader, store, outbox) }) },
  ]
}
