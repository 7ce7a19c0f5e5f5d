import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { StoreWriteError } from '../../src/store/errors.ts'
import { createLogger, serializeError } from '../../src/ops/logger.ts'

describe('serializeError (the err field of every log line)', () => {
  it('names the class and the stable code of a SettleProof error, without a stack', () => {
    const error = new StoreWriteError('/var/lib/settleproof/store.json', Object.assign(new Error('no space'), { code: 'ENOSPC' }))
    expect(serializeError(error)).toEqual({ type: 'StoreWriteError', code: 'STORE_WRITE_FAILED', message: error.message })
  })
  it('keeps the stack of an unexpected error (a bug), with its class', () => {
    const serialized = serializeError(new TypeError('x is not a function'))
    expect(serialized).toMatchObject({ type: 'TypeError', message: 'x is not a function' })
    expect(serialized.stack).toMatch(/^TypeError: x is not a function\n\s+at /)
  })
  it('never writes "Object" or an empty stack for a plain object or a thrown string', () => {
    expect(serializeError({ message: 'm', code: 'E1' })).toEqual({ type: 'Error', code: 'E1', message: 'm' })
    expect(serializeError('boom')).toEqual({ type: 'string', message: 'boom' })
  })
  it('is what the process logger writes', () => {
    let written = ''
    const logger = createLogger('info', new Writable({ write: (chunk, _, done) => ((written += chunk), done()) }) as never)
    logger.error({ err: { message: 'm' } }, 'failed')
    expect(JSON.parse(written).err).toEqual({ type: 'Error', message: 'm' })
  })
})
