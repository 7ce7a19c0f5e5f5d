// SettleProof's backfill: every invoice exists, the daemon starts from start_block with three
// providers. Timed from its first eth_getLogs to the moment every invoice is settled in the
// store (its event in the outbox); start-up (opening the store) is left out.
import { parseConfig } from '../../src/config/load.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { startDaemon } from '../../src/daemon.ts'
import type { Payment } from '../chain.ts'
import { waitFor, worker } from '../lib.ts'
import { seedInvoices } from '../seed.ts'

type Input = { config: Record<string, unknown>; payments: Payment[]; token: `0x${string}` }

worker<Input>(async (input) => {
  const config = parseConfig(input.config)
  await seedInvoices(config, input.payments, input.token)
  const daemon = await startDaemon({ config, logger: silentLogger() })
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
  await waitFor(() => settled >= input.payments.length, 200_000, 'every invoice settled')
  await daemon.stop()
  return { elapsedMs: settledAt - firstRead!, events: settled }
})
