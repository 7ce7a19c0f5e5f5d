import type { Config } from '../../src/config/schema.ts'
import { parseConfig } from '../../src/config/load.ts'

/** A valid Standard Webhooks secret for tests (24 zero-free bytes, base64). */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('settleproof-test-secret-0123').toString('base64')}`

export type TestConfigParameters = {
  chainId: number
  providerUrls: string[]
  token: `0x${string}`
  receiveAddresses: `0x${string}`[]
  storagePath: string
  /** Deep-merged over the defaults below (top-level keys replace). */
  overrides?: Record<string, unknown>
}

/** Builds a configuration through the real schema, tuned for fast tests (no confirmations wait, short timeouts). */
export function testConfig(parameters: TestConfigParameters): Config {
  return parseConfig({
    chain: { id: parameters.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 50, max_block_range: 1000 },
    providers: parameters.providerUrls.map((url, i) => ({ name: ['primary', 'secondary', 'tertiary', 'quaternary'][i] ?? `p${i}`, url })),
    quorum: 2,
    breaker: { failure_threshold: 5, success_threshold: 2, open_ms: 60_000 },
    rpc: { timeout_ms: 1_000, retries: 2, retry_initial_delay_ms: 5, retry_max_delay_ms: 20 },
    storage: { path: parameters.storagePath },
    merchants: [
      {
        id: 'acme',
        webhook_url: 'http://127.0.0.1:9/unused',
        webhook_secret: TEST_WEBHOOK_SECRET,
        api_key: 'acme-test-api-key',
        receive_addresses: parameters.receiveAddresses,
        tokens: [parameters.token],
      },
    ],
    ...parameters.overrides,
  })
}
