import { pino, type DestinationStream, type Logger } from 'pino'

export type { Logger }

/**
 * Keys whose values are secrets wherever they appear in a log object. Provider URLs carry
 * API keys, so `url` is redacted too; code logs provider names, never URLs.
 */
export const REDACTED_KEYS = ['url', 'webhook_secret', 'webhook_url', 'api_key', 'authorization', 'secret', 'password'] as const

/** The process logger: pino JSON on stdout, one child per component (`component` field). */
export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`])
  return pino({ level, base: { service: 'settleproof' }, redact: { paths, censor: '[redacted]' } }, destination)
}

/** A logger that drops everything, for tests that assert on behaviour rather than lines. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
