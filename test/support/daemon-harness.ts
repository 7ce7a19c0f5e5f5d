import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import got, { type Got } from 'got'
import type { Address } from 'viem'
import { stringify } from 'yaml'
import { parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/schema.ts'
import { silentLogger } from '../../src/ops/logger.ts'
import { startDaemon, type Daemon } from '../../src/daemon.ts'
import { startChainFixture, type ChainFixture } from './reader-harness.ts'
import type { StorageDocument } from './storage.ts'
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts'

export const MERCHANTS = ['acme', 'globex'] as const
export type MerchantId = (typeof MERCHANTS)[number]
export const secretOf = (id: string) => `whsec_${Buffer.from(`settleproof-test-secret-for-${id}`).toString('base64')}`
export const apiKeyOf = (id: string) => `${id}-api-key-0123456789`

/**
 * The configuration document for two merchants (acme, globex) on the fixture's chain, as
 * skill.yaml would hold it. `dir` holds the DLQ file (and the lowdb store); `storage` is the
 * backend (`testStorage`): a lowdb file in `dir` unless told otherwise.
 */
export function daemonDocument(chain: ChainFixture, receiver: WebhookReceiver, dir: string, overrides: Record<string, unknown> = {}, storage: StorageDocument = { path: join(dir, 'settleproof.json') }): Record<string, unknown> {
  return {
    chain: { id: chain.anvil.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 50, max_block_range: 1000 },
    providers: chain.proxies.map((p, i) => ({ name: ['primary', 'secondary', 'tertiary'][i], url: p.url })),
    quorum: 2,
    breaker: { failure_threshold: 5, success_threshold: 2, open_ms: 60_000 },
    rpc: { timeout_ms: 1_000, retries: 1, retry_initial_delay_ms: 5, retry_max_delay_ms: 20 },
    storage,
    dlq: { path: join(dir, 'dlq.jsonl') },
    server: { host: '127.0.0.1', port: 0 },
    webhooks: { max_attempts: 4, initial_delay_ms: 50, max_delay_ms: 400, timeout_ms: 10_000, concurrency: 8, drain_timeout_ms: 2_000 },
    log: { level: 'silent' },
    merchants: MERCHANTS.map((id, i) => ({
      id,
      webhook_url: `${receiver.url}/${id}`,
      webhook_secret: secretOf(id),
      api_key: apiKeyOf(id),
      receive_addresses: [chain.merchantAddresses[i]],
      tokens: [chain.token.address],
    })),
    ...overrides,
  }
}

export async function writeDaemonConfig(path: string, document: Record<string, unknown>): Promise<void> {
  await writeFile(path, stringify(document))
}

/** A daemon started in this process, with an API client per merchant. */
export type DaemonUnderTest = { daemon: Daemon; config: Config; api(merchant: MerchantId): Got; stop(): Promise<void> }

export async function startTestDaemon(document: Record<string, unknown>, options: { random?: () => number } = {}): Promise<DaemonUnderTest> {
  const config = parseConfig(document)
  const daemon = await startDaemon({ config, logger: silentLogger(), ...options })
  return {
    daemon,
    config,
    api: (merchant) => apiClient(daemon.server.port, apiKeyOf(merchant)),
    stop: () => daemon.stop(),
  }
}

/** The invoice API as a merchant's backend calls it. */
export function apiClient(port: number, apiKey: string): Got {
  return got.extend({ prefixUrl: `http://127.0.0.1:${port}/v1`, headers: { authorization: `Bearer ${apiKey}` }, responseType: 'json', throwHttpErrors: false, retry: { limit: 0 } })
}

/** Polls `check` until it holds (bounded). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, label = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export function merchantAddress(chain: ChainFixture, merchant: MerchantId): Address {
  return chain.merchantAddresses[MERCHANTS.indexOf(merchant)]!
}

/** A chain (token, three faultable providers) and the merchants' webhook receiver (acme, globex). */
export type MerchantWorld = { chain: ChainFixture; receiver: WebhookReceiver; close(): Promise<void> }

export async function startMerchantWorld(): Promise<MerchantWorld> {
  const chain = await startChainFixture()
  const receiver = await startWebhookReceiver({ '/acme': secretOf('acme'), '/globex': secretOf('globex') })
  return {
    chain,
    receiver,
    async close() {
      await receiver.close()
      await chain.close()
    },
  }
}
