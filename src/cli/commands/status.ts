import got from 'got'
import { loadConfig } from '../../config/load.ts'
import type { Diagnostics } from '../../ops/diagnostics.ts'
import { openDeadLetters, readStoreSnapshot, storeLocation } from '../../store/open-store.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'

export const statusHelp = `Usage: settleproof status [--json] [--config FILE]

The operator's view: checkpoint, head and lag, breaker state per provider and, when its answers
are refused (another chain id, HTTP 401/403, malformed answers), why; invoices by status,
deliveries by status (queued/in_flight/retrying/delivered/dead) and the DLQ size. Reads the
store file directly and asks the running daemon (server.host:server.port /diagnostics) for
what only it knows (breakers, refusals, latency); works while the daemon is stopped, with less.
`

/** `settleproof status`. */
export async function status(options: { config?: string | undefined; json?: boolean }, out: NodeJS.WritableStream): Promise<ExitCode> {
  const { config } = loadConfig({ path: options.config })
  const snapshot = await readStoreSnapshot(config)
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host
  const live = await got(`http://${host}:${config.server.port}/diagnostics`, { timeout: { request: 2_000 }, retry: { limit: 0 } })
    .json<Diagnostics>()
    .catch(() => null)
  const deadLetters = await openDeadLetters(config)
  const letters = await deadLetters.list().finally(() => deadLetters.close())
  const checkpoint = live?.checkpoint ?? snapshot?.chain?.checkpoint ?? null
  const report = {
    daemon: live === null ? 'not reachable' : 'running',
    // Said plainly: an empty report from the wrong folder must not pass for an empty store.
    store: { path: storeLocation(config.storage), found: snapshot !== null },
    chain_id: config.chain.id,
    checkpoint,
    head: live?.head ?? null,
    lag: live?.lag ?? null,
    providers: live?.providers ?? config.providers.map((p) => ({ name: p.name, breaker_state: 'unknown' })),
    invoices: live?.invoices ?? snapshot?.counts.invoices ?? { open: 0, expired: 0, settled: 0 },
    deliveries: live?.deliveries ?? snapshot?.counts.outbox ?? { queued: 0, in_flight: 0, retrying: 0, delivered: 0, dead: 0 },
    dlq: { size: letters.length, not_replayed: letters.filter((l) => l.replayed_at === null).length },
  }
  if (options.json) {
    out.write(`${JSON.stringify(report, null, 2)}\n`)
    return EXIT.ok
  }
  const d = report.deliveries
  out.write(
    [
      `daemon       ${report.daemon}`,
      report.store.found ? `store        ${report.store.path}` : `store        none at ${report.store.path} (no daemon has written there yet: is this the configuration the daemon runs with?)`,
      `chain        ${report.chain_id}  checkpoint ${report.checkpoint ?? '-'}  head ${report.head ?? '-'}  lag ${report.lag ?? '-'}`,
      ...report.providers.map((p) => `provider     ${p.name}  breaker ${p.breaker_state}${'refused' in p && p.refused ? `  REFUSED: ${p.refused}` : ''}${'last_error' in p && p.last_error ? `  last error: ${p.last_error}` : ''}`),
      `invoices     open ${report.invoices.open}  expired ${report.invoices.expired}  settled ${report.invoices.settled}`,
      `deliveries   queued ${d.queued}  in_flight ${d.in_flight}  retrying ${d.retrying}  delivered ${d.delivered}  dead ${d.dead}`,
      `dlq          ${report.dlq.size} dead letters, ${report.dlq.not_replayed} not replayed`,
      '',
    ].join('\n'),
  )
  return EXIT.ok
}
