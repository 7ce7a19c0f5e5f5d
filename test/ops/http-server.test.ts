import { request as httpRequest } from 'node:http'
import { Writable } from 'node:stream'
import got from 'got'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError, ServerListenError, startHttpServer, type HttpServer, type Route } from '../../src/ops/http-server.ts'
import { createLogger } from '../../src/ops/logger.ts'
import { StoreUnavailableError } from '../../src/store/errors.ts'

/** The HTTP layer itself (fastify underneath): routing, 404 against 405, bounded bodies read on demand, one error shape. */
let server: HttpServer
const logged: string[] = []
let bodiesRead = 0

const routes: Route[] = [
  { method: 'GET', path: '/things/:id', handle: (request) => ({ status: 200, body: { id: request.params.id, q: request.query.get('q') } }) },
  {
    method: 'POST',
    path: '/things',
    handle: async (request) => {
      if (request.headers.authorization !== 'Bearer ok') throw new ApiError(401, 'unauthorized', 'no')
      bodiesRead++
      return { status: 201, body: { length: (await request.text()).length } }
    },
  },
  { method: 'GET', path: '/text', handle: () => ({ status: 200, body: 'plain words', headers: { 'content-type': 'text/plain; version=0.0.4' } }) },
  {
    method: 'GET',
    path: '/bug',
    handle: () => {
      throw new TypeError('secret internals')
    },
  },
  {
    method: 'GET',
    path: '/store-gone',
    handle: async () => {
      throw new StoreUnavailableError('the connection was refused (ECONNREFUSED)')
    },
  },
]

beforeAll(async () => {
  const sink = new Writable({ write: (chunk, _encoding, done) => void (logged.push(String(chunk)), done()) })
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('info', sink),
    routes,
    plugins: [
      (app) => {
        app.addHook('onRequest', async (request) => {
          if (request.headers['x-scope'] !== 'yes') throw new ApiError(403, 'forbidden', 'scope says no', null, { 'x-why': 'scope' })
        })
        app.get('/scoped', async () => ({ scoped: true }))
      },
    ],
  })
})
afterAll(async () => {
  await server.close()
})

type Reply = { status: number; headers: Record<string, unknown>; body: any }
async function call(method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const response = await got(`http://127.0.0.1:${server.port}${path}`, { method: method as 'GET', headers: options.headers, body: options.body, throwHttpErrors: false, retry: { limit: 0 }, allowGetBody: true })
  return { status: response.statusCode, headers: response.headers, body: response.body === '' ? null : JSON.parse(response.body) }
}

describe('the HTTP server', () => {
  it('routes by method and path, with path parameters and the query string', async () => {
    expect(await call('GET', '/things/abc?q=1')).toMatchObject({ status: 200, body: { id: 'abc', q: '1' }, headers: { 'content-type': 'application/json' } })
    const text = await got(`http://127.0.0.1:${server.port}/text`)
    expect(text.body).toBe('plain words')
    expect(text.headers['content-type']).toBe('text/plain; version=0.0.4')
  })

  it('answers 405 to another method on a known path (HEAD and OPTIONS included), 404 to an unknown path, both as error JSON', async () => {
    for (const method of ['DELETE', 'PUT', 'PATCH', 'OPTIONS']) {
      expect(await call(method, '/things/abc'), method).toMatchObject({ status: 405, body: { error: { code: 'method_not_allowed', message: `${method} is not allowed on /things/abc`, path: null } } })
    }
    expect((await call('HEAD', '/things/abc')).status).toBe(405)
    expect(await call('GET', '/things')).toMatchObject({ status: 405, body: { error: { code: 'method_not_allowed' } } })
    expect((await call('POST', '/scoped', { headers: { 'x-scope': 'yes' } })).status).toBe(405) // a plugin's paths count too
    for (const path of ['/nothing', '/things/', '/things/a/b', '/Things/abc', '//things/abc']) {
      expect(await call('GET', path), path).toMatchObject({ status: 404, body: { error: { code: 'not_found', path: null } } })
    }
  })

  it('reads a body only when the handler asks: an unauthenticated 1 MiB body is refused 401 unread; an authenticated one over 64 KiB is 413', async () => {
    const big = 'x'.repeat(1024 * 1024)
    expect(await call('POST', '/things', { body: big })).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } })
    expect(bodiesRead).toBe(0)
    expect(await call('POST', '/things', { headers: { authorization: 'Bearer ok' }, body: big })).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large', message: 'body over 65536 bytes' } } })
    expect(await call('POST', '/things', { headers: { authorization: 'Bearer ok', 'content-type': 'application/x-anything' }, body: 'y'.repeat(64 * 1024) })).toMatchObject({ status: 201, body: { length: 64 * 1024 } })
    // Chunked, no length declared: counted as it arrives.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/things', headers: { authorization: 'Bearer ok', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      for (let i = 0; i < 80; i++) req.write('z'.repeat(1024))
      req.end()
    })
    expect(chunked).toBe(413)
  })

  it('a handler bug is a 500 without detail, logged with its route; the server keeps serving', async () => {
    expect(await call('GET', '/bug')).toEqual({ status: 500, headers: expect.anything(), body: { error: { code: 'internal', message: 'internal error: see the daemon log', path: null } } })
    expect(logged.some((line) => line.includes('"route":"/bug"') && line.includes('secret internals'))).toBe(true)
    expect((await call('GET', '/things/ok')).status).toBe(200)
  })

  it('the store out of reach is a 503 store_unavailable in the same error shape, with the reason and Retry-After, never a 500', async () => {
    const reply = await call('GET', '/store-gone')
    expect(reply).toMatchObject({ status: 503, body: { error: { code: 'store_unavailable', message: 'store unavailable: the connection was refused (ECONNREFUSED)', path: null } } })
    expect(reply.headers['retry-after']).toBe('2')
    expect(logged.some((line) => line.includes('/store-gone'))).toBe(false) // no bug to log
  })

  it('a plugin\'s hooks apply to its own routes, and its errors take the same shape and headers', async () => {
    expect(await call('GET', '/scoped')).toMatchObject({ status: 403, headers: { 'x-why': 'scope' }, body: { error: { code: 'forbidden', message: 'scope says no', path: null } } })
    expect(await call('GET', '/scoped', { headers: { 'x-scope': 'yes' } })).toMatchObject({ status: 200, body: { scoped: true } })
    expect((await call('GET', '/things/abc')).status).toBe(200) // the plugin's hook stays in its scope
  })

  it('reads a body as it is whatever its Content-Type says, a malformed one included', async () => {
    for (const type of ['not a media type', 'json', 'text/plain', 'application/json; charset=latin1']) {
      expect(await call('POST', '/things', { headers: { authorization: 'Bearer ok', 'content-type': type }, body: '{"a":1}' }), type).toMatchObject({ status: 201, body: { length: 7 } })
    }
  })

  it('a path with malformed percent-encoding is 400 in the same error shape, never a 500', async () => {
    expect(await call('GET', '/things/%zz')).toMatchObject({ status: 400, body: { error: { code: 'bad_request', path: null } } })
  })

  it('refuses to start on a port in use, naming it (ServerListenError)', async () => {
    const error = await startHttpServer({ host: '127.0.0.1', port: server.port, logger: createLogger('silent'), routes }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServerListenError)
    expect((error as ServerListenError).errno).toBe('EADDRINUSE')
  })
})
