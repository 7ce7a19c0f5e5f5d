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
 * One delivery attempt with got: no redirects followed (a 3xx is a failed attempt), no
 * retries of its own (the outbox owns them), one timeout for the whole request. The
 * result never carries the URL or a secret.
 */
export async function sendWebhook(parameters: SendWebhookParameters): Promise<AttemptResult> {
  const body = JSON.stringify(parameters.payload)
  try {
    const response = await got.post(parameters.url, {
      body,
      headers: signWebhook(parameters.secrets, parameters.webhookId, body, parameters.at ?? new Date()),
      timeout: { request: parameters.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
    })
    const retryAfter = response.headers['retry-after']
    return { status: response.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter }
  } catch (error) {
    return { error: describeRequestError(error) }
  }
}

function describeRequestError(error: unknown): string {
  if (error instanceof RequestError) {
    if (error.name === 'TimeoutError') return 'timed out'
    return `connection failed (${error.code})`
  }
  return 'request failed'
}
