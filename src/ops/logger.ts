import { pino, type DestinationStream, type Logger } from 'pino'
import { SettleProofError } from '../errors.ts'

export type { Logger }

/**
 * Keys whose values are secrets wherever they appear in a log object. Provider URLs carry
 * API keys, so `url` is redacted too; code logs provider names, never URLs.
 */
export const REDACTED_KEYS = ['url', 'webhook_secret', 'webhook_url', 'api_key', 'operator_token', 'authorization', 'secret', 'password'] as const

/** The process logger: pino JSON on stdout, one child per component (`component` field). */
export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`])
  return pino({ level, base: { service: 'settleproof' }, redact: { paths, censor: '[redacted]' }, serializers: { err: serializeError } }, destination)
}

/** What an `err` field holds in a log line. */
export type LoggedError = { type: string; code?: string; message: string; stack?: string }

/**
 * The `err` field: the error's class (`StoreWriteError`, `TypeError`), its stable code and its
 * message. A SettleProof error is an expected failure whose message says what to do: no stack.
 * Anything else is a bug, and its stack is what finds it. Never an empty stack or `Object`.
 */
export function serializeError(error: unknown): LoggedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      type: error.name,
      ...(typeof code === 'string' ? { code } : {}),
      message: error.message,
      ...(error instanceof SettleProofError || error.stack === undefined ? {} : { stack: error.stack }),
    }
  }
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    const { type, code, message } = error as { type?: unknown; code?: unknown; message: string }
    return { type: typeof type === 'string' ? type : 'Error', ...(typeof code === 'string' ? { code } : {}), message }
  }
  return { type: typeof error, message: String(error) }
}

/** A logger that drops everything, for tests that assert on behaviour rather than lines. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
