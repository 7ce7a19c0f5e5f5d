// SettleProof's delivery: 20,000 events already in the durable outbox, delivered by the outbox
// worker (durable state transitions, per-merchant breakers, p-limit) to the receiver process.
// On PostgreSQL the statements sent meanwhile are counted by kind.
import { parseConfig } from '../../src/config/load.ts'
import { createOutboxWorker } from '../../src/delivery/outbox-worker.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { openStore } from '../../src/store/open-store.ts'
import type { OutboxEntry } from '../../src/delivery/outbox-entry.ts'
import { waitFor, worker } from '../lib.ts'
import { profilePostgresStatements, roundedProfile } from '../postgres-statements.ts'

type Input = { config: Record<string, unknown>; entries: OutboxEntry[] }

worker<Input>(async (input) => {
  const config = parseConfig(input.config)
  const store = await openStore(config, { logger: silentLogger() })
  for (let i = 0; i < input.entries.length; i += 5_000) await store.transact((tx) => input.entries.slice(i, i + 5_000).forEach((e) => tx.putOutboxEntry(e)))
  const outbox = createOutboxWorker({ config, store, logger: silentLogger() })
  let delivered = 0
  let failed = 0
  outbox.onAttempt((a) => (a.outcome === 'delivered' ? delivered++ : failed++))
  const statements = config.storage.driver === 'postgres' ? profilePostgresStatements() : null
  const started = performance.now()
  void outbox.start()
  await waitFor(() => delivered >= input.entries.length, 200_000, 'every event delivered')
  const elapsedMs = performance.now() - started
  statements?.stop()
  await outbox.stop()
  await store.close()
  return { elapsedMs, events: delivered, extra: { failed_attempts: failed, ...(statements ? { statements: roundedProfile(statements.profile) } : {}) } }
})
