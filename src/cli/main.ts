import { parseArgs } from 'node:util'
import { ConfigError } from '../config/errors.ts'
import { SettleProofError } from '../errors.ts'
import { checkConfig, checkConfigHelp } from './commands/check-config.ts'
import { demo, demoHelp } from './commands/demo.ts'
import { run, runHelp } from './commands/run.ts'
import { EXIT, type ExitCode } from './exit-codes.ts'
import { UsageError } from './usage-error.ts'

const usage = `Usage: settleproof <command> [options]

Commands:
  run [--config FILE]            run the daemon
  check-config [--config FILE]   validate the configuration (exit 78 when invalid)
  demo                           the whole product on a local chain, no configuration needed

Options:
  --config FILE   defaults to $SETTLEPROOF_CONFIG, then ./skill.yaml
  -h, --help      help for a command: settleproof <command> --help
`

const commands: Record<string, { help: string; options: Record<string, { type: 'string' | 'boolean' }>; run(values: Record<string, unknown>): Promise<ExitCode> | ExitCode }> = {
  run: { help: runHelp, options: { config: { type: 'string' } }, run: (v) => run({ config: v.config as string | undefined }) },
  'check-config': { help: checkConfigHelp, options: { config: { type: 'string' } }, run: (v) => checkConfig({ config: v.config as string | undefined }, process.stdout) },
  demo: { help: demoHelp, options: {}, run: () => demo() },
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
    try {
      values = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
    if (values.help) {
      process.stdout.write(command.help)
      return EXIT.ok
    }
    return await command.run(values)
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
