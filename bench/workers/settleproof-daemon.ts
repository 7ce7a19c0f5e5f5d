// The whole daemon, for the latency and history scenarios: seeds `history` settled invoices
// (with their delivered events, compacted, as a long-running daemon would have them) and one
// open invoice per payment, then runs until every payment's webhook was delivered. Times from
// its first eth_getLogs. On PostgreSQL the statements sent meanwhile are counted by kind.
import { parseConfig } from '../../src/config/load.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { startDaemon } from '../../src/daemon.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { Payment } from '../chain.ts'
import { stoppedEarly, waitFor, worker } from '../lib.ts'
import { profilePostgresStatements, roundedProfile } from '../postgres-statements.ts'
import { seedHistory, seedInvoices } from '../seed.ts'

type Input = { config: Record<string, unknown>; payments: Payment[]; token: `0x${string}`; history: number }

worker<Input>(async (input) => {
  const config = parseConfig(input.config)
  const seedMs = input.history > 0 ? await seedHistory(config, input.history, input.token) : 0
  await seedInvoices(config, input.payments, input.token)
  const daemon = await startDaemon({ config, logger: silentLogger() })
  const statements = config.storage.driver === 'postgres' ? profilePostgresStatements() : null
  let firstRead: number | undefined
  for (const provider of daemon.providers) {
    provider.onAttempt((attempt) => {
      if (attempt.method === 'eth_getLogs') firstRead ??= performance.now() - attempt.durationMs
    })
  }
  let delivered = 0
  let lastDelivery = 0
  daemon.outbox.onAttempt((a) => {
    if (a.outcome !== 'delivered') return
    delivered++
    lastDelivery = performance.now()
  })
  process.send!({ ready: true })
  // The daemon stopping on its own (a fatal store error) ends the run with its error.
  await Promise.race([waitFor(() => delivered >= input.payments.length, 240_000, 'every payment delivered'), stoppedEarly(daemon.done)])
  statements?.stop()
  const counts = await daemon.store.read((r) => r.counts())
  await daemon.stop()
  const archived = input.history > 0 ? await openStore(config, { logger: silentLogger() }).then(async (s) => { const n = (await s.read((r) => r.counts())).invoices.settled; await s.close(); return n }) : counts.invoices.settled
  return { elapsedMs: lastDelivery - firstRead!, events: delivered, extra: { settled_in_store: archived, seed_history_ms: Math.round(seedMs), ...(statements ? { statements: roundedProfile(statements.profile) } : {}) } }
})
