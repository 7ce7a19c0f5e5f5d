import got, { RequestError } from 'got'
import { Webhook } from 'standardwebhooks'
import type { AttemptResult } from './delivery-decision.ts'
import type { WebhookPayload } from './webhook-payload.ts'

export type SendWebhookParameters = {
  url: string
  /** The merchant's `whsec_` secrets: one signature each (several during a rotation). */
  secrets: readonly string[]
  webhookId: string
  payload: WebhookPayload
  timeoutMs: number
  /** This attempt's time; `webhook-timestamp` and the signature use it. */
  at?: Date
}

/** The Standard Webhooks headers for one attempt: the same id on every attempt, a fresh timestamp and signature. */
export function signWebhook(secrets: readonly string[], id: string, body: string, at: Date): Record<string, string> {
  const signature = secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(' ')
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
    'idempotency-key': id,
  }
}

/**
 * The most of an answer's body read: the status and `Retry-After` decide an attempt and the
 * body is never used, so a merchant answering with a huge (or endless) body costs at most
 * this much memory. A small body is read to its end, so the connection can be reused.
 */
export const MAX_ANSWER_BODY_BYTES = 4 * 1024

/**
 * One delivery attempt with got: no redirects followed (a 3xx is a failed attempt), no
 * retries of its own (the outbox owns them), one timeout for the whole request. got's stream
 * API, so the answer's body is not buffered: the attempt is decided on the status line and
 * headers, then at most `MAX_ANSWER_BODY_BYTES` of the body are read before the connection
 * is closed. The result never carries the URL or a secret.
 */
export function sendWebhook(parameters: SendWebhookParameters): Promise<AttemptResult> {
  const body = JSON.stringify(parameters.payload)
  return new Promise<AttemptResult>((resolve) => {
    let decided = false
    const decide = (result: AttemptResult) => {
      if (decided) return
      decided = true
      resolve(result)
    }
    const request = got.stream.post(parameters.url, {
      body,
      headers: signWebhook(parameters.secrets, parameters.webhookId, body, parameters.at ?? new Date()),
      timeout: { request: parameters.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
    })
    // After the decision, an error only means the body was cut short: nothing to report.
    request.on('error', (error: unknown) => decide({ error: describeRequestError(error) }))
    request.on('response', (response: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
      const retryAfter = response.headers['retry-after']
      decide({ status: response.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter })
      const declared = Number(response.headers['content-length'])
      if (declared > MAX_ANSWER_BODY_BYTES) return void request.destroy()
      let read = 0
      request.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read > MAX_ANSWER_BODY_BYTES) request.destroy()
      })
    })
  })
}

function describeRequestError(error: unknown): string {
  if (error instanceof RequestError) {
    if (error.name === 'TimeoutError') return 'timed out'
    return `connection failed (${error.code})`
  }
  return 'request failed'
}
