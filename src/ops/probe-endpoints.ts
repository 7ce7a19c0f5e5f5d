import got from 'got'
import { createPublicClient, http, HttpRequestError } from 'viem'
import type { Config } from '../config/schema.ts'

/** What a probe found about one endpoint. `detail` never holds the URL or any part of it. */
export type ProbeResult = { kind: 'provider' | 'merchant'; name: string; ok: boolean; detail: string }

export type ProbeEndpointsParameters = { config: Config; timeoutMs?: number }

/**
 * `check-config --probe`: asks each provider for its chain id and head, and each merchant
 * endpoint for any HTTP answer, so an operator learns before the first run which endpoint
 * fails and how (DNS, refused, TLS, timeout, HTTP status, wrong chain). Probes run in parallel.
 */
export async function probeEndpoints(parameters: ProbeEndpointsParameters): Promise<ProbeResult[]> {
  const { config } = parameters
  const timeoutMs = parameters.timeoutMs ?? 5_000
  const providers = config.providers.map(async ({ name, url }): Promise<ProbeResult> => {
    const client = createPublicClient({ transport: http(url, { retryCount: 0, timeout: timeoutMs }), cacheTime: 0 })
    try {
      const [chainId, head] = await Promise.all([client.getChainId(), client.getBlockNumber({ cacheTime: 0 })])
      if (chainId !== config.chain.id) return { kind: 'provider', name, ok: false, detail: `reports chain id ${chainId}, chain.id is ${config.chain.id}` }
      return { kind: 'provider', name, ok: true, detail: `chain id ${chainId}, head ${head}` }
    } catch (error) {
      return { kind: 'provider', name, ok: false, detail: describeConnectionFailure(error) }
    }
  })
  const merchants = config.merchants.map(async ({ id, webhook_url }): Promise<ProbeResult> => {
    try {
      // HEAD: reachability only; no event is sent. Any answer below 500 means a server is there.
      const response = await got(webhook_url, { method: 'HEAD', timeout: { request: timeoutMs }, retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false })
      return { kind: 'merchant', name: id, ok: response.statusCode < 500, detail: `HTTP ${response.statusCode} to HEAD` }
    } catch (error) {
      return { kind: 'merchant', name: id, ok: false, detail: describeConnectionFailure(error) }
    }
  })
  return Promise.all([...providers, ...merchants])
}

const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$|HOSTNAME_MISMATCH|ERR_CERT)/

/** How a connection failed, from the error codes along the cause chain (never from messages, which carry the URL). */
export function describeConnectionFailure(error: unknown): string {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 10; current = current.cause, depth++) {
    if (current instanceof HttpRequestError && current.status !== undefined) return `HTTP ${current.status}`
    const code = (current as { code?: unknown }).code
    if (typeof code !== 'string') {
      if (current.name === 'TimeoutError') return 'timed out'
      continue
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `DNS lookup failed (${code})`
    if (code === 'ECONNREFUSED') return 'connection refused'
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset'
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return 'timed out'
    if (TLS_CODE.test(code)) return `TLS failed (${code})`
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `host unreachable (${code})`
  }
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out'
  return 'no valid JSON-RPC answer'
}
