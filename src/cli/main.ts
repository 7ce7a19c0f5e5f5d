import { parseArgs } from 'node:util'
import { ConfigError } from '../config/errors.ts'
import { SettleProofError } from '../errors.ts'
import { EXIT, type ExitCode } from './exit-codes.ts'
import { UsageError } from './usage-error.ts'

const usage = `Usage: settleproof <command> [options]

Commands:
  run [--config FILE]            run the daemon
  check-config [--config FILE] [--probe]
                                 validate the configuration (exit 78 when invalid);
                                 --probe also asks every provider and merchant endpoint
  demo                           the whole product on a local chain, no configuration needed
  status [--json]                checkpoint, head, lag, breakers, invoices, deliveries, DLQ size
  dlq list [--json]              the dead letters
  dlq replay [--id ID ...] [--all] [--dry-run]
                                 re-send dead letters with their original webhook-id
  outbox list [--status S] [--merchant ID] [--json]
                                 the pending webhook events (queued, in_flight, retrying)

Options:
  --config FILE   defaults to $SETTLEPROOF_CONFIG, then ./skill.yaml
  -h, --help      help for a command: settleproof <command> --help
`

/** What a command's module gives once loaded: its help text, and the command itself. */
type LoadedCommand = { help: string; run(values: Record<string, unknown>, positionals: string[]): Promise<ExitCode> | ExitCode }

type Command = {
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>
  positionals?: number
  /**
   * Loads the command's module only when it is asked for: `check-config`, `dlq` or `outbox list`
   * start without loading the daemon (its HTTP server, database driver and chain client), which
   * takes seconds on a busy machine.
   */
  load(): Promise<LoadedCommand>
}

const config = (v: Record<string, unknown>) => v.config as string | undefined

const commands: Record<string, Command> = {
  run: {
    options: { config: { type: 'string' } },
    load: async () => {
      const { run, runHelp } = await import('./commands/run.ts')
      return { help: runHelp, run: (v) => run({ config: config(v) }) }
    },
  },
  'check-config': {
    options: { config: { type: 'string' }, probe: { type: 'boolean' } },
    load: async () => {
      const { checkConfig, checkConfigHelp } = await import('./commands/check-config.ts')
      return { help: checkConfigHelp, run: (v) => checkConfig({ config: config(v), probe: v.probe === true }, process.stdout, process.stderr) }
    },
  },
  demo: {
    options: {},
    load: async () => {
      const { demo, demoHelp } = await import('./commands/demo.ts')
      return { help: demoHelp, run: () => demo() }
    },
  },
  status: {
    options: { config: { type: 'string' }, json: { type: 'boolean' } },
    load: async () => {
      const { status, statusHelp } = await import('./commands/status.ts')
      return { help: statusHelp, run: (v) => status({ config: config(v), json: v.json === true }, process.stdout) }
    },
  },
  dlq: {
    positionals: 1,
    options: { config: { type: 'string' }, json: { type: 'boolean' }, id: { type: 'string', multiple: true }, all: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
    load: async () => {
      const { dlq, dlqHelp } = await import('./commands/dlq.ts')
      return { help: dlqHelp, run: (v, [sub]) => dlq(sub, { config: config(v), json: v.json === true, id: v.id as string[] | undefined, all: v.all === true, dryRun: v['dry-run'] === true }, process.stdout) }
    },
  },
  outbox: {
    positionals: 1,
    options: { config: { type: 'string' }, json: { type: 'boolean' }, status: { type: 'string', multiple: true }, merchant: { type: 'string' } },
    load: async () => {
      const { outbox, outboxHelp } = await import('./commands/outbox.ts')
      return { help: outboxHelp, run: (v, [sub]) => outbox(sub, { config: config(v), json: v.json === true, status: v.status as string[] | undefined, merchant: v.merchant as string | undefined }, process.stdout) }
    },
  },
}

/** Runs the command line and returns the process exit code. Every failure becomes a message and a code. */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  const [name, ...rest] = argv
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(usage)
      return name === undefined ? EXIT.usage : EXIT.ok
    }
    const command = commands[name]
    if (command === undefined) throw new UsageError(`unknown command "${name}"`)
    let values: Record<string, unknown>
    let positionals: string[]
    try {
      ;({ values, positionals } = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: (command.positionals ?? 0) > 0 }))
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    if (positionals.length > (command.positionals ?? 0)) throw new UsageError(`unexpected argument "${positionals.at(-1)}"`)
    const loaded = await command.load()
    if (values.help) {
      process.stdout.write(loaded.help)
      return EXIT.ok
    }
    return await loaded.run(values, positionals)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.describe()}\n`)
      return EXIT.config
    }
    if (error instanceof UsageError) {
      process.stderr.write(`settleproof: ${error.message}\n`)
      return EXIT.usage
    }
    if (error instanceof SettleProofError) {
      process.stderr.write(`settleproof: ${error.describe()}\n`)
      return EXIT.failure
    }
    process.stderr.write(`settleproof: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`)
    return EXIT.failure
  }
}
