import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { SettleProofError } from '../errors.ts'
import { isStoreOutage } from '../store/outage-backoff.ts'
import type { Logger } from './logger.ts'

/** An error answered to the client as `{ "error": { "code", "message", "path" } }`. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly path: string | null
  /** Headers the answer carries (`WWW-Authenticate` on a 401). */
  readonly headers: Record<string, string> | undefined

  constructor(status: number, code: string, message: string, path: string | null = null, headers?: Record<string, string>) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.path = path
    this.headers = headers
  }
}

/** What an operator reads, and does, for each errno that stops the server from listening. */
const LISTEN_PROBLEMS: Record<string, (host: string, port: number) => string> = {
  EADDRINUSE: (host, port) => `server.port ${port} on ${host} is already in use (EADDRINUSE): stop the process listening there, or set server.port to a free port`,
  EACCES: (host, port) => `server.port ${port} on ${host} may not be bound by this user (EACCES): ports below 1024 need privileges; set server.port to 1024 or above`,
  EPERM: (host, port) => `server.port ${port} on ${host} may not be bound by this user (EPERM): ports below 1024 need privileges; set server.port to 1024 or above`,
  EADDRNOTAVAIL: (host) => `server.host ${host} is not an address of this machine (EADDRNOTAVAIL): set server.host to a local address, such as 127.0.0.1 or 0.0.0.0`,
  ENOTFOUND: (host) => `server.host ${host} does not resolve (ENOTFOUND): set server.host to an IP address or a name this machine resolves`,
  EAI_AGAIN: (host) => `server.host ${host} could not be resolved (EAI_AGAIN): set server.host to an IP address`,
}

/** The HTTP server could not listen on `server.host`/`server.port`. Raised at start-up. */
export class ServerListenError extends SettleProofError {
  /** The errno from listen: `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL` … */
  readonly errno: string

  constructor(host: string, port: number, cause: unknown) {
    const errno = String((cause as NodeJS.ErrnoException)?.code ?? 'unknown error')
    const problem = LISTEN_PROBLEMS[errno]
    super('SERVER_LISTEN_FAILED', problem?.(host, port) ?? `the HTTP server cannot listen on server.host ${host}, server.port ${port} (${errno}): check server.host and server.port`, { cause })
    this.errno = errno
  }
}

export type HttpRequest = {
  method: string
  path: string
  params: Record<string, string>
  /** The query string; routes match on the path alone, so a handler validates what it reads here. */
  query: URLSearchParams
  headers: IncomingMessage['headers']
  /** Reads the body, at most `maxBodyBytes`; larger bodies are refused with 413. */
  text(): Promise<string>
}

export type HttpResponse = { status: number; body: unknown; headers?: Record<string, string> }

export type Route = {
  method: 'GET' | 'POST'
  /** `/v1/invoices/:uuid` style: `:name` captures one path segment. */
  path: string
  handle(request: HttpRequest): Promise<HttpResponse> | HttpResponse
}

/**
 * A part of the server that needs more than a route table (hooks, static files, its own
 * headers): registered in its own fastify scope, so its hooks apply to its routes only.
 * Its errors are answered like every other (`ApiError` → `{ "error": … }`).
 */
export type HttpPlugin = (app: FastifyInstance) => Promise<void> | void

export type HttpServer = { readonly port: number; close(): Promise<void> }

export type StartHttpServerParameters = { host: string; port: number; routes: readonly Route[]; plugins?: readonly HttpPlugin[]; logger: Logger; maxBodyBytes?: number }

const MAX_BODY_BYTES = 64 * 1024

/** `Retry-After` of a 503 while the store is unavailable: about the store's own retry delay. */
const STORE_RETRY_AFTER_S = 2

/** Node's own bound on a request's head (16 KiB): a path segment is never cut shorter than that. */
const MAX_PARAM_LENGTH = 16 * 1024

/**
 * The daemon's HTTP server, on fastify. Every answer is JSON (or the text a handler sets),
 * every failure an `ApiError` body; the store out of reach is a 503 `store_unavailable` (with
 * the store's reason, never a URL); a handler bug is a 500 with no detail, logged, and never
 * takes the process down. A path that exists answers 405 to other methods (HEAD included),
 * any other path 404. Bodies are read only when a handler asks (`text()`), after it has
 * authenticated the caller, so an unauthenticated client never gets 64 KiB buffered.
 * @throws {ServerListenError} the port is taken or not permitted, or the host is not local.
 */
export async function startHttpServer(parameters: StartHttpServerParameters): Promise<HttpServer> {
  const logger = parameters.logger.child({ component: 'http' })
  const maxBodyBytes = parameters.maxBodyBytes ?? MAX_BODY_BYTES
  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    keepAliveTimeout: 5_000,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => void sendError(reply, error, request),
  })

  // Every registered path, whatever scope registered it: what tells 405 from 404.
  const paths: { pattern: RegExp; methods: Set<string> }[] = []
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat()
    const existing = paths.find((p) => p.pattern.source === compile(route.url).source)
    if (existing) for (const method of methods) existing.methods.add(method)
    else paths.push({ pattern: compile(route.url), methods: new Set(methods) })
  })
  // The body stays unread until a handler asks for it (`text()`, bounded): see above. It is
  // read as it is whatever Content-Type says (the invoice API never looked at it), so the header
  // is dropped before fastify's parsing, which would refuse a malformed one with 415.
  app.addHook('onRequest', async (request) => {
    delete request.headers['content-type']
  })
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined))
  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url)
    const error = paths.some((p) => p.pattern.test(path))
      ? new ApiError(405, 'method_not_allowed', `${request.method} is not allowed on ${path}`)
      : new ApiError(404, 'not_found', `no route for ${path}`)
    sendError(reply, error, request)
  })
  app.setErrorHandler((error, request, reply) => sendError(reply, error, request))

  function sendError(reply: FastifyReply, error: unknown, request: FastifyRequest): FastifyReply {
    if (error instanceof ApiError) return send(reply, { status: error.status, body: { error: { code: error.code, message: error.message, path: error.path } }, ...(error.headers ? { headers: error.headers } : {}) })
    // The database out of reach (SPEC §9) is no bug: every route says so the same way, and the client tries again.
    if (isStoreOutage(error)) return send(reply, { status: 503, body: { error: { code: 'store_unavailable', message: error.message, path: null } }, headers: { 'retry-after': String(STORE_RETRY_AFTER_S) } })
    // The framework's own refusals (a malformed URL or Content-Type): the client's fault, said in the same shape.
    const status = (error as FastifyError).statusCode
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return send(reply, { status, body: { error: { code: frameworkErrorCode(status), message: (error as Error).message, path: null } } })
    }
    logger.error({ err: error, route: pathOf(request.url) }, 'request failed')
    return send(reply, { status: 500, body: { error: { code: 'internal', message: 'internal error: see the daemon log', path: null } } })
  }

  registerRoutes(app, parameters.routes, maxBodyBytes)
  for (const plugin of parameters.plugins ?? []) await app.register(async (scope) => plugin(scope))

  try {
    await app.listen({ host: parameters.host, port: parameters.port })
  } catch (error) {
    await app.close().catch(() => undefined)
    throw new ServerListenError(parameters.host, parameters.port, error)
  }
  return {
    port: (app.server.address() as AddressInfo).port,
    close: () => app.close(),
  }
}

/**
 * Registers a route table in a fastify scope: each `Route` answers through its `handle`, with
 * the request's path parameters, query string, headers and a bounded body reader.
 */
export function registerRoutes(app: FastifyInstance, routes: readonly Route[], maxBodyBytes = MAX_BODY_BYTES): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        const params = (request.params ?? {}) as Record<string, string>
        // fastify lets `/things/` match `/things/:id` with an empty id; a segment is never empty here.
        if (Object.values(params).some((value) => value === '')) return reply.callNotFound()
        const url = new URL(request.url, 'http://localhost')
        const response = await route.handle({
          method: request.method,
          path: url.pathname,
          params,
          query: url.searchParams,
          headers: request.headers,
          text: () => readBody(request.raw, maxBodyBytes),
        })
        return send(reply, response)
      },
    })
  }
}

/**
 * Writes a response: a string body as it is, anything else as JSON; `application/json` unless
 * the handler says otherwise. Sent as bytes, so the content type goes out exactly as set
 * (fastify would add a charset to a string's).
 */
export function send(reply: FastifyReply, response: HttpResponse): FastifyReply {
  const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body)
  return reply.code(response.status).headers({ 'content-type': 'application/json', ...response.headers }).send(Buffer.from(text, 'utf8'))
}

function frameworkErrorCode(status: number): string {
  if (status === 413) return 'payload_too_large'
  if (status === 415) return 'unsupported_media_type'
  return 'bad_request'
}

function pathOf(url: string): string {
  return new URL(url, 'http://localhost').pathname
}

function compile(path: string): RegExp {
  const pattern = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([A-Za-z_]+)/g, (_, name: string) => `(?<${name}>[^/]+)`)
  return new RegExp(`^${pattern}$`)
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > limit) {
      req.resume()
      return reject(new ApiError(413, 'payload_too_large', `body over ${limit} bytes`))
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        reject(new ApiError(413, 'payload_too_large', `body over ${limit} bytes`))
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
