import { loadConfig } from '../../config/load.ts'
import { displayDeadLetter } from '../../delivery/dead-letter.ts'
import { replayDeadLetters } from '../../delivery/dlq-replay.ts'
import { openDeadLetters } from '../../store/open-store.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { UsageError } from '../usage-error.ts'

export const dlqHelp = `Usage: settleproof dlq list [--json] [--config FILE]
       settleproof dlq replay (--id ID ... | --all) [--dry-run] [--config FILE]

list     the dead letters in dlq.path, one per webhook id, with whether they were replayed
replay   re-sends dead letters with their original webhook-id and payload to the merchant's
         current webhook_url; each success is marked replayed (a line appended: the file is
         an audit trail and is never truncated). Safe while the daemon runs.
         Exit 0 when every selected letter was delivered, 1 when any failed.
`

export async function dlq(subcommand: string | undefined, options: { config?: string | undefined; json?: boolean; id?: string[]; all?: boolean; dryRun?: boolean }, out: NodeJS.WritableStream): Promise<ExitCode> {
  if (subcommand !== 'list' && subcommand !== 'replay') throw new UsageError('dlq needs a subcommand: list or replay')
  const { config } = loadConfig({ path: options.config })
  if (subcommand === 'list') {
    const deadLetters = await openDeadLetters(config)
    const letters = (await deadLetters.list().finally(() => deadLetters.close())).map(displayDeadLetter)
    if (options.json) out.write(`${JSON.stringify(letters, null, 2)}\n`)
    else if (letters.length === 0) out.write('no dead letters\n')
    else {
      for (const l of letters) {
        out.write(`${l.webhook_id}  ${l.merchant_id}  ${l.type}  attempts=${l.attempts}  dead_at=${l.dead_at}  ${l.replayed_at ? `replayed_at=${l.replayed_at}` : 'pending'}  last_error=${l.last_error ?? '-'}\n`)
      }
      out.write(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}, ${letters.filter((l) => l.replayed_at === null).length} not replayed\n`)
    }
    return EXIT.ok
  }
  const ids = options.id ?? []
  if (ids.length === 0 && !options.all) throw new UsageError('dlq replay needs --id ID (repeatable) or --all')
  if (ids.length > 0 && options.all) throw new UsageError('dlq replay takes --id or --all, not both')
  const outcomes = await replayDeadLetters({ config, ids, all: options.all ?? false, dryRun: options.dryRun ?? false })
  for (const o of outcomes) {
    if (o.result === 'replayed') out.write(`replayed ${o.webhookId} (${o.type}, ${o.invoiceUuid === null ? 'no invoice' : `invoice ${o.invoiceUuid}`}, merchant ${o.merchantId}): HTTP ${o.status}\n`)
    else if (o.result === 'would_replay') out.write(`would replay ${o.webhookId} (${o.type} to ${o.merchantId})\n`)
    else out.write(`${o.result} ${o.webhookId}: ${o.reason}\n`)
  }
  if (outcomes.length === 0) out.write('nothing to replay\n')
  return outcomes.some((o) => o.result === 'failed' || o.result === 'skipped') ? EXIT.failure : EXIT.ok
}
