import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { readBody } from './read-body.ts'

/** How the receiver answers on one path. */
export type ReceiverBehaviour =
  | { kind: 'ok'; status?: number; delayMs?: number }
  /** Answers this status with a body of `bodyBytes` generated on the fly, as long as the client keeps reading. */
  | { kind: 'huge-body'; status: number; bodyBytes: number; retryAfter?: string }
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Never answers (the sender's timeout fires). */
  | { kind: 'hang' }
  /** Holds each request until `release()` answers it with `status`: the test decides when the answer arrives. */
  | { kind: 'held'; status: number }
  /** Resets the connection. */
  | { kind: 'reset' }
  /** 410 Gone the first time a webhook-id arrives, 200 after: dead-letters at once, replays succeed. */
  | { kind: 'gone-once' }

/** One request as the merchant saw it, after verifying it exactly as a merchant would. */
export type ReceivedWebhook = {
  path: string
  webhookId: string
  idempotencyKey: string | undefined
  timestamp: number
  /** True when `standardwebhooks` verified the signature with the merchant's secret. */
  verified: boolean
  payload: { type: string; timestamp: string; data: Record<string, unknown> }
  status: number | 'hang' | 'reset'
  at: number
  /** For `huge-body`: the body bytes the socket accepted before the client closed it or the body ended. */
  bodyBytesSent?: number
  /** For `huge-body`: settles when the answer ended or the client closed the connection. */
  answered?: Promise<void>
}

export type WebhookReceiver = {
  url: string
  /** Every request received, including those answered with an error. */
  readonly received: ReceivedWebhook[]
  /** Requests answered 2xx, i.e. deliveries. */
  delivered(path?: string): ReceivedWebhook[]
  setBehaviour(path: string, behaviour: ReceiverBehaviour): void
  /** Answers every request held by a `held` behaviour, now (synchronously); returns how many. */
  release(): number
  close(): Promise<void>
}

const FILLER = Buffer.alloc(64 * 1024, 'x')

/**
 * Writes `bodyBytes` of filler, chunk by chunk, waiting for the socket to take each one, so the
 * body is never held in memory and stops as soon as the client closes the connection.
 */
async function streamBody(res: import('node:http').ServerResponse, behaviour: { status: number; bodyBytes: number; retryAfter?: string }, record: ReceivedWebhook): Promise<void> {
  res.writeHead(behaviour.status, { 'content-type': 'application/octet-stream', ...(behaviour.retryAfter ? { 'retry-after': behaviour.retryAfter } : {}) })
  record.bodyBytesSent = 0
  let closed = false
  res.on('close', () => (closed = true))
  while (!closed && record.bodyBytesSent < behaviour.bodyBytes) {
    const chunk = FILLER.subarray(0, Math.min(FILLER.length, behaviour.bodyBytes - record.bodyBytesSent))
    const flushed = res.write(chunk)
    record.bodyBytesSent += chunk.length
    if (!flushed) await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done)
        res.off('close', done)
        resolve()
      }
      res.on('drain', done)
      res.on('close', done)
    })
  }
  if (!closed) await new Promise<void>((resolve) => res.end(resolve))
}

/**
 * A merchant's webhook endpoint on 127.0.0.1. Each path is one merchant (`/acme`), verified
 * with that merchant's secret through the `standardwebhooks` library.
 */
export async function startWebhookReceiver(secrets: Record<string, string>): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = []
  const behaviours = new Map<string, ReceiverBehaviour>()
  const sockets = new Set<Socket>()
  const held: (() => void)[] = []
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const configured = behaviours.get(path) ?? { kind: 'ok' }
    const id = (Array.isArray(req.headers['webhook-id']) ? req.headers['webhook-id'][0] : req.headers['webhook-id']) ?? ''
    const behaviour: Exclude<ReceiverBehaviour, { kind: 'gone-once' }> =
      configured.kind === 'gone-once' ? (received.some((r) => r.webhookId === id) ? { kind: 'ok' } : { kind: 'status', status: 410 }) : configured
    const header = (name: string) => (Array.isArray(req.headers[name]) ? req.headers[name][0] : req.headers[name]) as string | undefined
    let verified = false
    const secret = secrets[path]
    if (secret !== undefined) {
      try {
        new Webhook(secret).verify(body, { 'webhook-id': header('webhook-id') ?? '', 'webhook-timestamp': header('webhook-timestamp') ?? '', 'webhook-signature': header('webhook-signature') ?? '' })
        verified = true
      } catch {
        verified = false
      }
    }
    let payload: ReceivedWebhook['payload']
    try {
      payload = JSON.parse(body)
    } catch {
      payload = { type: 'unparseable', timestamp: '', data: {} }
    }
    const record: ReceivedWebhook = {
      path,
      webhookId: header('webhook-id') ?? '',
      idempotencyKey: header('idempotency-key'),
      timestamp: Number(header('webhook-timestamp')),
      verified,
      payload,
      status: behaviour.kind === 'hang' || behaviour.kind === 'reset' ? behaviour.kind : behaviour.kind === 'ok' ? (behaviour.status ?? 200) : behaviour.status,
      at: Date.now(),
    }
    received.push(record)
    if (behaviour.kind === 'hang') return
    // Until the answer is written the merchant has not answered: a delayed 200 is not yet a delivery.
    const answer = record.status
    record.status = 'hang'
    if (behaviour.kind === 'reset') {
      record.status = 'reset'
      return void req.socket.destroy()
    }
    if (behaviour.kind === 'ok' && behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs))
    if (behaviour.kind === 'held') {
      return void held.push(() => {
        if (res.destroyed) return
        record.status = behaviour.status
        res.writeHead(behaviour.status)
        res.end('{"ok":false}')
      })
    }
    if (res.destroyed) return
    const status = !verified && behaviour.kind === 'ok' ? 401 : (answer as number)
    record.status = status
    if (behaviour.kind === 'huge-body') {
      record.answered = streamBody(res, behaviour, record)
      return
    }
    res.writeHead(status, behaviour.kind === 'status' && behaviour.retryAfter ? { 'retry-after': behaviour.retryAfter } : {})
    res.end(status < 300 ? '{"ok":true}' : '{"ok":false}')
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    delivered: (path) => received.filter((r) => typeof r.status === 'number' && r.status < 300 && (path === undefined || r.path === path)),
    setBehaviour: (path, behaviour) => void behaviours.set(path, behaviour),
    release() {
      const answers = held.splice(0)
      for (const answer of answers) answer()
      return answers.length
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
