import { loadConfig } from '../../config/load.ts'
import { configSecrets } from '../../ops/config-secrets.ts'
import { parsePendingStates } from '../../ops/pending-outbox-query.ts'
import { pendingOutboxView, type PendingOutboxView } from '../../ops/pending-outbox-view.ts'
import { openPendingOutboxReader, storeLocation } from '../../store/open-store.ts'
import type { PendingOutboxQuery } from '../../store/store.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { UsageError } from '../usage-error.ts'

export const outboxHelp = `Usage: settleproof outbox list [--status queued|retrying|in_flight ...] [--merchant ID] [--json] [--config FILE]

list     the pending webhook events (queued, in flight, retrying), oldest first, one per line:
         webhook id, merchant, type, invoice, state, attempts, next attempt time, last error.
         --status (repeatable, or comma-separated) and --merchant narrow the list.
         Reads the store directly, without the writer lock: safe while the daemon runs.
`

/** How many entries one read of the store selects; the list goes on until the last page. */
const PAGE = 500

/** `settleproof outbox list` (SPEC §3). */
export async function outbox(subcommand: string | undefined, options: { config?: string | undefined; status?: string[]; merchant?: string | undefined; json?: boolean }, out: NodeJS.WritableStream): Promise<ExitCode> {
  if (subcommand !== 'list') throw new UsageError(subcommand === undefined ? 'outbox needs a subcommand: list' : `unknown outbox subcommand "${subcommand}": use list`)
  const states = parsePendingStates(options.status ?? [])
  if (!states.ok) throw new UsageError(`--status ${states.message}`)
  if (options.merchant !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(options.merchant)) throw new UsageError(`--merchant "${options.merchant}" is not a merchant id`)
  const { config } = loadConfig({ path: options.config })
  const secrets = configSecrets(config)

  const entries: PendingOutboxView[] = []
  const query: PendingOutboxQuery = { limit: PAGE, ...(states.states ? { states: states.states } : {}), ...(options.merchant !== undefined ? { merchantId: options.merchant } : {}) }
  const reader = await openPendingOutboxReader(config)
  try {
    for (let after: PendingOutboxQuery['after']; reader !== null; ) {
      const page = await reader.page({ ...query, ...(after ? { after } : {}) })
      entries.push(...page.entries.map((entry) => pendingOutboxView(entry, secrets)))
      if (page.next === null) break
      after = page.next
    }
  } finally {
    await reader?.close()
  }

  if (options.json) {
    out.write(`${JSON.stringify(entries, null, 2)}\n`)
    return EXIT.ok
  }
  for (const e of entries) {
    out.write(
      `${e.webhook_id}  ${e.merchant_id}  ${e.type}  invoice=${e.invoice_uuid ?? '-'}  ${e.state}  attempts=${e.attempts}  next_attempt=${e.next_attempt_at ?? 'now'}  last_error=${e.last_error ?? '-'}\n`,
    )
  }
  // Said plainly: an empty list from the wrong folder must not pass for an empty outbox.
  if (reader === null) out.write(`no pending events: no store at ${storeLocation(config.storage)} (no daemon has written there yet: is this the configuration the daemon runs with?)\n`)
  else out.write(entries.length === 0 ? 'no pending events\n' : `${entries.length} pending event${entries.length === 1 ? '' : 's'}\n`)
  return EXIT.ok
}
