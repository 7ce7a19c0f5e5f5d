// SettleProof's backfill: every invoice exists, the daemon starts from start_block with three
// providers. Timed from its first eth_getLogs to the moment every invoice is settled in the
// store (its event in the outbox); start-up (opening the store) is left out. On PostgreSQL the
// statements the daemon sends meanwhile are counted and timed by kind (extra.statements); on
// both, the time spent in the store's transactions (extra.transactions).
import { parseConfig } from '../../src/config/load.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { startDaemon } from '../../src/daemon.ts'
import type { Payment } from '../chain.ts'
import { stoppedEarly, waitFor, worker } from '../lib.ts'
import { profilePostgresStatements, roundedProfile } from '../postgres-statements.ts'
import { seedInvoices } from '../seed.ts'
import { timeTransactions } from '../transaction-timer.ts'

/** `holdDelivery` (bench/backfill-breakdown.ts only): the outbox worker is stopped at once, so no webhook is sent while the range commits. */
type Input = { config: Record<string, unknown>; payments: Payment[]; token: `0x${string}`; holdDelivery?: boolean }

worker<Input>(async (input) => {
  const config = parseConfig(input.config)
  await seedInvoices(config, input.payments, input.token)
  const daemon = await startDaemon({ config, logger: silentLogger() })
  if (input.holdDelivery === true) await daemon.outbox.stop()
  const statements = config.storage.driver === 'postgres' ? profilePostgresStatements() : null
  const transactions = timeTransactions(daemon.store)
  let firstRead: number | undefined
  let settled = 0
  let settledAt = 0
  for (const provider of daemon.providers) {
    provider.onAttempt((attempt) => {
      if (attempt.method === 'eth_getLogs') firstRead = Math.min(firstRead ?? Infinity, performance.now() - attempt.durationMs)
    })
  }
  daemon.settlement.onOutcome((outcome) => {
    if (outcome.kind !== 'settled') return
    settled++
    settledAt = performance.now()
  })
  // The daemon stopping on its own (a fatal store error) ends the run with its error.
  await Promise.race([waitFor(() => settled >= input.payments.length, 200_000, 'every invoice settled'), stoppedEarly(daemon.done)])
  statements?.stop()
  await daemon.stop()
  return { elapsedMs: settledAt - firstRead!, events: settled, extra: { transactions: transactions.rounded(), ...(statements ? { statements: roundedProfile(statements.profile) } : {}) } }
})
