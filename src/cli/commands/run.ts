import { loadConfig } from '../../config/load.ts'
import { createLogger } from '../../ops/logger.ts'
import { startDaemon } from '../../daemon.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'

export const runHelp = `Usage: settleproof run [--config FILE]

Runs the daemon: reads the chain through the configured providers under quorum, checkpoints
its progress in storage.path, and logs JSON lines on stdout. SIGTERM or SIGINT stops it
cleanly (exit 0). Exit 78 on an invalid configuration, 1 on a runtime failure (a store that
is locked by another process, unreadable or not writable, a server.port that cannot be
listened on, a reorg deeper than chain.reorg_window).
`

/** `settleproof run`: resolves with the exit code once the daemon has stopped. */
export async function run(options: { config?: string | undefined }): Promise<ExitCode> {
  const { config } = loadConfig({ path: options.config })
  const logger = createLogger(config.log.level)
  // Handlers go in before anything starts: a SIGTERM during start-up must stop cleanly, not kill.
  let stopRequested: NodeJS.Signals | null = null
  let onSignal = (signal: NodeJS.Signals) => void (stopRequested = signal)
  process.once('SIGTERM', (signal) => onSignal(signal))
  process.once('SIGINT', (signal) => onSignal(signal))
  const daemon = await startDaemon({ config, logger })
  onSignal = (signal) => {
    logger.info({ component: 'daemon', signal }, 'stopping: no new reads, draining webhook attempts')
    void daemon.stop()
  }
  if (stopRequested !== null) onSignal(stopRequested)
  try {
    await daemon.done
    await daemon.stop()
    logger.info({ component: 'daemon', checkpoint: daemon.reader.status().checkpoint }, 'stopped')
    return EXIT.ok
  } catch (error) {
    logger.fatal({ component: 'daemon', err: { code: (error as { code?: string }).code, message: (error as Error).message } }, 'stopped on a fatal error')
    await daemon.stop().catch(() => undefined)
    return EXIT.failure
  }
}
