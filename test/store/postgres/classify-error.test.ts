// Pure decision tables: how errors from the real `pg` driver are classified, and how a URL is
// shown. The error values are shaped as node-postgres raises them (a DatabaseError carries the
// server's SQLSTATE in `code`; a socket error carries the errno); nothing else is involved.
import { describe, expect, it } from 'vitest'
import { classifyPostgresError } from '../../../src/store/postgres/classify-error.ts'
import { postgresLocation } from '../../../src/store/postgres/connection.ts'
import { StoreUrlError } from '../../../src/store/postgres/errors.ts'

const withCode = (code: string, message = 'server message') => Object.assign(new Error(message), { code })

describe('classifyPostgresError', () => {
  it.each([
    ['serialization failure', withCode('40001'), 'conflict'],
    ['deadlock', withCode('40P01'), 'conflict'],
    ['terminated by pg_terminate_backend', withCode('57P01'), 'unavailable'],
    ['server crashed', withCode('57P02'), 'unavailable'],
    ['server starting up', withCode('57P03'), 'unavailable'],
    ['statement_timeout', withCode('57014'), 'unavailable'],
    ['idle in transaction timeout', withCode('25P03'), 'unavailable'],
    ['a read-only standby', withCode('25006'), 'unavailable'],
    ['database refuses connections', withCode('55000'), 'unavailable'],
    ['wrong password', withCode('28P01'), 'unavailable'],
    ['no such database', withCode('3D000'), 'unavailable'],
    ['too many connections', withCode('53300'), 'unavailable'],
    ['disk full', withCode('53100'), 'unavailable'],
    ['connection failure', withCode('08006'), 'unavailable'],
    ['protocol violation (a driver bug)', withCode('08P01'), 'other'],
    ['unique violation', withCode('23505'), 'refused'],
    ['check violation', withCode('23514'), 'refused'],
    ['invalid text', withCode('22P02'), 'refused'],
    ['undefined table', withCode('42P01'), 'refused'],
    ['internal error', withCode('XX000'), 'other'],
    ['connection refused', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), 'unavailable'],
    ['connection reset', withCode('ECONNRESET'), 'unavailable'],
    ['host not found', withCode('ENOTFOUND'), 'unavailable'],
    ['cut while querying', new Error('Connection terminated unexpectedly'), 'unavailable'],
    ['used after it broke', new Error('Client has encountered a connection error and is not queryable'), 'unavailable'],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect'), 'unavailable'],
    ['connect timeout wrapping a socket error', new Error('Connection terminated due to connection timeout', { cause: withCode('ETIMEDOUT') }), 'unavailable'],
    ['a bug in the caller', new TypeError('x is not a function'), 'other'],
    ['not an error at all', 'a string', 'other'],
  ])('%s → %s', (_label, error, kind) => {
    expect(classifyPostgresError(error).kind).toBe(kind)
  })

  it('builds reasons from codes, never from the message (which might quote a connection string)', () => {
    const failure = classifyPostgresError(withCode('57P01', 'terminating connection for postgres://u:secret@h/db'))
    expect(failure.reason).toBe('the server ended the connection (terminated by an administrator, or shutting down) (57P01)')
    expect(classifyPostgresError(withCode('08006', 'secret')).reason).not.toContain('secret')
  })
})

describe('postgresLocation', () => {
  it.each([
    ['postgres://user:pw@db.internal:6543/settle?sslmode=require&password=pw', 'postgres://db.internal:6543/settle'],
    ['postgresql://user:pw@127.0.0.1/settle', 'postgres://127.0.0.1:5432/settle'],
    ['postgres:///settle?host=/var/run/postgresql', 'postgres://localhost:5432/settle'],
    ['postgres://user:pw@[::1]:5432/my%20db', 'postgres://[::1]:5432/my db'],
  ])('%s → %s', (url, location) => {
    expect(postgresLocation(url)).toBe(location)
  })

  it.each([
    ['not a URL', 'user:pw@host/db'],
    ['another scheme', 'mysql://user:pw@host/db'],
  ])('refuses %s without quoting it', (_label, url) => {
    const error = (() => {
      try {
        postgresLocation(url)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(StoreUrlError)
    expect((error as Error).message).not.toContain('pw')
  })
})
