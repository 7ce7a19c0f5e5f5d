import { loadConfig } from '../../config/load.ts'
import { createLogger } from '../../ops/logger.ts'
import { startDaemon } from '../../daemon.ts'
import { isStoreOutage } from '../../store/outage-backoff.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'

export const runHelp = `Usage: settleproof run [--config FILE]

Runs the daemon: reads the chain through the configured providers under quorum, checkpoints
its progress in storage.path, and logs JSON lines on stdout. SIGTERM or SIGINT stops it
cleanly (exit 0). A PostgreSQL database that cannot be reached, at start-up or later, is
waited for (retried with backoff; /readyz answers 503 with the reason meanwhile), never an
exit. Exit 78 on an invalid configuration, 1 on a runtime failure (a store that is locked by
another process, unreadable or not writable, a server.port that cannot be listened on, a
reorg deeper than chain.reorg_window).
`

/** `settleproof run`: resolves with the exit code once the daemon has stopped. */
export async function run(options: { config?: string | undefined }): Promise<ExitCode> {
  const { config } = loadConfig({ path: options.config })
  const logger = createLogger(config.log.level)
  // Handlers go in before anything starts: a SIGTERM during start-up must stop cleanly, not kill.
  let stopRequested: NodeJS.Signals | null = null
  // A stop while start-up waits for an unreachable database ends the wait: nothing ran yet.
  const startUp = new AbortController()
  let onSignal = (signal: NodeJS.Signals) => {
    stopRequested = signal
    startUp.abort()
  }
  process.once('SIGTERM', (signal) => onSignal(signal))
  process.once('SIGINT', (signal) => onSignal(signal))
  let daemon: Awaited<ReturnType<typeof startDaemon>>
  try {
    daemon = await startDaemon({ config, logger, signal: startUp.signal })
  } catch (error) {
    if (stopRequested === null || !isStoreOutage(error)) throw error
    logger.info({ component: 'daemon', signal: stopRequested }, 'stopped while waiting for the store')
    return EXIT.ok
  }
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
