import type { StoreUnavailableError } from '../store/errors.ts'
import type { Logger } from './logger.ts'
import { startHttpServer, type Route } from './http-server.ts'

/** The server that holds `server.port` while the daemon waits for its store at start-up. */
export type WaitingServer = {
  readonly port: number
  /** Why the store cannot be reached, as the last try said (never a URL: a `StoreUnavailableError`'s message holds none). */
  unavailable(error: StoreUnavailableError): void
  close(): Promise<void>
}

/**
 * Listens on `server.port` while `settleproof run` waits for a database it cannot reach yet
 * (SPEC §9: not fatal), so the outage is seen where operators look: `/healthz` 200 (the
 * process is alive and retrying: restarting it would not help), `/readyz` 503 with the reason,
 * and the invoice API, `/diagnostics` and `/metrics` 503 `store_unavailable` (the error is
 * thrown to the server, which answers every route's store outage alike). Nothing else runs
 * yet: the daemon closes this server once its store is open and listens on the same port.
 * @throws {ServerListenError} as the daemon's own server would.
 */
export async function startWaitingServer(parameters: { host: string; port: number; logger: Logger; outage: StoreUnavailableError }): Promise<WaitingServer> {
  let last = parameters.outage
  const unavailable = () => {
    throw last
  }
  const routes: Route[] = [
    { method: 'GET', path: '/healthz', handle: () => ({ status: 200, body: { status: 'ok', last_round_age_ms: null, waiting_for: 'store' } }) },
    { method: 'GET', path: '/readyz', handle: () => ({ status: 503, body: { status: 'not_ready', ready: false, reasons: [last.message], usable_providers: [], refused_providers: [] } }) },
    ...(['/metrics', '/diagnostics', '/v1/invoices', '/v1/invoices/:uuid'] as const).map((path): Route => ({ method: 'GET', path, handle: unavailable })),
    { method: 'POST', path: '/v1/invoices', handle: unavailable },
  ]
  const server = await startHttpServer({ host: parameters.host, port: parameters.port, routes, logger: parameters.logger })
  return {
    port: server.port,
    unavailable: (error) => void (last = error),
    close: () => server.close(),
  }
}
