// The whole daemon, for the latency and history scenarios: seeds `history` settled invoices
// (archived, as a long-running daemon would have them) and one open invoice per payment, then
// runs until every payment's webhook was delivered. Times from its first eth_getLogs.
import { parseConfig } from '../../src/config/load.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { startDaemon } from '../../src/daemon.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { Payment } from '../chain.ts'
import { waitFor, worker } from '../lib.ts'
import { seedHistory, seedInvoices } from '../seed.ts'

type Input = { config: Record<string, unknown>; payments: Payment[]; token: `0x${string}`; history: number }

worker<Input>(async (input) => {
  const config = parseConfig(input.config)
  if (input.history > 0) await seedHistory(config, input.history, input.token)
  await seedInvoices(config, input.payments, input.token)
  const daemon = await startDaemon({ config, logger: silentLogger() })
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
  await waitFor(() => delivered >= input.payments.length, 240_000, 'every payment delivered')
  const counts = await daemon.store.read((r) => r.counts())
  await daemon.stop()
  const archived = input.history > 0 ? await openStore(config, { logger: silentLogger() }).then(async (s) => { const n = (await s.read((r) => r.counts())).invoices.settled; await s.close(); return n }) : counts.invoices.settled
  return { elapsedMs: lastDelivery - firstRead!, events: delivered, extra: { settled_in_store: archived } }
})
