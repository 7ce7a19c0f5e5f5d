import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SettleProofError } from '../errors.ts'
import type { Logger } from './logger.ts'

/** An error answered to the client as `{ "error": { "code", "message", "path" } }`. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly path: string | null

  constructor(status: number, code: string, message: string, path: string | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.path = path
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

export type HttpServer = { readonly port: number; close(): Promise<void> }

export type StartHttpServerParameters = { host: string; port: number; routes: readonly Route[]; logger: Logger; maxBodyBytes?: number }

const MAX_BODY_BYTES = 64 * 1024

/**
 * The daemon's HTTP server: a small route table on node:http. Every answer is JSON (or the
 * text a handler sets), every failure an `ApiError` body; a handler bug is a 500 with no
 * detail, logged, and never takes the process down.
 * @throws {ServerListenError} the port is taken or not permitted, or the host is not local.
 */
export async function startHttpServer(parameters: StartHttpServerParameters): Promise<HttpServer> {
  const logger = parameters.logger.child({ component: 'http' })
  const maxBodyBytes = parameters.maxBodyBytes ?? MAX_BODY_BYTES
  const routes = parameters.routes.map((route) => ({ ...route, pattern: compile(route.path) }))

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost')
    let response: HttpResponse
    try {
      const matching = routes.map((route) => ({ route, match: route.pattern.exec(url.pathname) })).filter((m) => m.match !== null)
      const found = matching.find((m) => m.route.method === req.method)
      if (matching.length === 0) throw new ApiError(404, 'not_found', `no route for ${url.pathname}`)
      if (found === undefined) throw new ApiError(405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}`)
      response = await found.route.handle({
        method: req.method ?? 'GET',
        path: url.pathname,
        params: found.match!.groups ?? {},
        query: url.searchParams,
        headers: req.headers,
        text: () => readBody(req, maxBodyBytes),
      })
    } catch (error) {
      if (error instanceof ApiError) response = { status: error.status, body: { error: { code: error.code, message: error.message, path: error.path } } }
      else {
        logger.error({ err: error, route: url.pathname }, 'request failed')
        response = { status: 500, body: { error: { code: 'internal', message: 'internal error: see the daemon log', path: null } } }
      }
    }
    if (res.headersSent || res.destroyed) return
    const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body)
    res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers, 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  const server: Server = createServer((req, res) => void handle(req, res))
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new ServerListenError(parameters.host, parameters.port, error)))
    server.listen(parameters.port, parameters.host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
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
