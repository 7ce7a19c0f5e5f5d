import { randomUUID } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import got from 'got'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { runCli, startCli, waitForBoundPort } from '../support/cli.ts'
import { eventually, merchantAddress } from '../support/daemon-harness.ts'
import { startChainFixture, type ChainFixture } from '../support/reader-harness.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts'

let chain: ChainFixture
let receiver: WebhookReceiver
let configPath: string
const secrets: Record<string, string> = {}
/** A provider key of 30 characters in a query value, and an error message of 168 characters that ends just before it. */
const QUERY_KEY = 'Zq8vK3xW9pL2mN7bR4tY6uH1jF5cD0'
const ERROR_168 = `execution reverted: ${'quota exceeded for this project, '.repeat(6)}`.slice(0, 168)
/** A webhook URL's credentials and query token: secrets too, wherever the URL is shown. */
const WEBHOOK_USERINFO = ['hook-user', 'hookpass_Wm4Kx9']
const WEBHOOK_TOKEN = 'tok_Qp7Lr2Vn8Xs4'
const secretOf = (id: string) => `whsec_${Buffer.from(`super-secret-hmac-key-of-${id}`).toString('base64')}`

beforeAll(async () => {
  chain = await startChainFixture()
  for (const [i, proxy] of chain.proxies.entries()) secrets[`RPC_URL_${i + 1}`] = `${proxy.url}/v3/sk_live_provider${i}_9f8e7d6c?apikey=${i === 2 ? QUERY_KEY : `qk_provider${i}_5a4b3c2d`}`
  for (const id of ['acme', 'globex']) {
    secrets[`${id.toUpperCase()}_WEBHOOK_SECRET`] = secretOf(id)
    secrets[`${id.toUpperCase()}_API_KEY`] = `sk_api_${id}_1a2b3c4d5e6f`
  }
  receiver = await startWebhookReceiver({ '/acme': secretOf('acme'), '/globex': secretOf('globex') })
  secrets.ACME_WEBHOOK_URL = receiver.url.replace('http://', `http://${WEBHOOK_USERINFO.join(':')}@`) + `/acme?token=${WEBHOOK_TOKEN}`
  secrets.GLOBEX_WEBHOOK_URL = `${receiver.url}/globex`
  configPath = join(chain.dir, 'skill.yaml')
  await writeFile(
    configPath,
    stringify({
      chain: { id: chain.anvil.chainId, confirmations: 1, start_block: 1, poll_interval_ms: 50 },
      providers: [1, 2, 3].map((i) => ({ name: ['primary', 'secondary', 'tertiary'][i - 1], url: `\${RPC_URL_${i}}` })),
      breaker: { failure_threshold: 3, success_threshold: 1, open_ms: 300 },
      rpc: { timeout_ms: 500, retries: 1, retry_initial_delay_ms: 5, retry_max_delay_ms: 10 },
      storage: { path: join(chain.dir, 'data', 'store.json') },
      dlq: { path: join(chain.dir, 'data', 'dlq.jsonl') },
      server: { host: '127.0.0.1', port: 0 },
      webhooks: { max_attempts: 2, initial_delay_ms: 10, max_delay_ms: 20, timeout_ms: 300 },
      log: { level: 'trace' },
      merchants: ['acme', 'globex'].map((id, i) => ({
        id,
        webhook_url: `\${${id.toUpperCase()}_WEBHOOK_URL}`,
        webhook_secret: `\${${id.toUpperCase()}_WEBHOOK_SECRET}`,
        api_key: `\${${id.toUpperCase()}_API_KEY}`,
        receive_addresses: [chain.merchantAddresses[i]],
        tokens: [chain.token.address],
      })),
    }),
  )
})
afterAll(async () => {
  await receiver.close()
  await chain.close()
})

/** Every secret, and the parts of it that would give it away. */
function forbidden(): string[] {
  const parts = new Set<string>()
  for (const value of Object.values(secrets)) {
    parts.add(value)
    if (value.startsWith('whsec_')) parts.add(value.slice(6))
    for (const match of value.matchAll(/(sk|qk)_[a-z0-9_]+/g)) parts.add(match[0])
  }
  // Every piece of 4 or more characters of the 30-character query key.
  for (let length = 4; length <= QUERY_KEY.length; length++) for (let start = 0; start + length <= QUERY_KEY.length; start++) parts.add(QUERY_KEY.slice(start, start + length))
  for (const part of [...WEBHOOK_USERINFO, WEBHOOK_TOKEN]) parts.add(part)
  return [...parts]
}

it('never writes a webhook secret, an API key or a provider URL to a log line, a metric, a status or an error message, library errors included', async () => {
  // Faults that make libraries produce errors carrying the URL: a provider that echoes its own
  // URL and key in a JSON-RPC error, one that resets connections, a merchant that fails.
  chain.proxies[0]!.setFault({ kind: 'rpc-error', code: -32000, message: `upstream ${secrets.RPC_URL_1} refused key sk_live_provider0_9f8e7d6c` })
  chain.proxies[1]!.setFault({ kind: 'down' })
  receiver.setBehaviour('/acme', { kind: 'status', status: 500 })
  const daemon = startCli(['run', '--config', configPath], { env: secrets })
  const outputs: string[] = []
  try {
    const port = await waitForBoundPort(daemon)
    // A provider whose error message is cut just inside its URL's key: mask first, cut after.
    chain.proxies[2]!.setFault({ kind: 'rpc-error', code: -32000, message: `${ERROR_168}, k=${QUERY_KEY}` })
    const api = (key: string) => got.extend({ prefixUrl: `http://127.0.0.1:${port}/v1`, headers: { authorization: `Bearer ${key}` }, throwHttpErrors: false, retry: { limit: 0 } })
    outputs.push((await api('sk_api_acme_wrong').post('invoices', { json: {} })).body)
    outputs.push((await api(secrets.ACME_API_KEY!).post('invoices', { body: '{not json' })).body)
    outputs.push((await api(secrets.ACME_API_KEY!).post('invoices', { json: { uuid: randomUUID(), token: chain.token.address, amount: 'lots' } })).body)
    await eventually(() => /provider call failed/.test(daemon.output.stdout), 10_000, 'provider errors logged')
    await eventually(() => /"provider":"tertiary".*circuit breaker opened/.test(daemon.output.stdout), 10_000, 'the cut-message provider\'s breaker opened')
    outputs.push((await got(`http://127.0.0.1:${port}/diagnostics`, { throwHttpErrors: false })).body)
    chain.proxies[2]!.setFault({ kind: 'none' })
    chain.proxies[1]!.setFault({ kind: 'none' })
    chain.proxies[0]!.setFault({ kind: 'none' })
    const uuid = randomUUID()
    expect((await api(secrets.ACME_API_KEY!).post('invoices', { json: { uuid, token: chain.token.address, amount: '4242' } })).statusCode).toBe(201)
    await chain.token.transfer(chain.payer, merchantAddress(chain, 'acme'), 4242n)
    await eventually(() => /webhook dead-lettered/.test(daemon.output.stdout), 15_000, 'a dead letter')
    for (const path of ['/metrics', '/diagnostics', '/readyz', '/healthz']) outputs.push((await got(`http://127.0.0.1:${port}${path}`, { throwHttpErrors: false })).body)
    outputs.push((await runCli(['status', '--json', '--config', configPath], { env: secrets })).stdout)
    outputs.push((await runCli(['status', '--config', configPath], { env: secrets })).stdout)
    const dlqList = await runCli(['dlq', 'list', '--config', configPath], { env: secrets })
    const dlqJson = await runCli(['dlq', 'list', '--json', '--config', configPath], { env: secrets })
    outputs.push(dlqList.stdout, dlqList.stderr, dlqJson.stdout, dlqJson.stderr)
    // The display masks the webhook URL's userinfo and query; the file keeps it whole (audit trail).
    expect(JSON.parse(dlqJson.stdout)[0].url).toBe(`http://[redacted]@${new URL(receiver.url).host}/acme?token=[redacted]`)
    expect(await readFile(join(chain.dir, 'data', 'dlq.jsonl'), 'utf8')).toContain(secrets.ACME_WEBHOOK_URL)
    const invalid = await runCli(['check-config', '--config', configPath], { env: { ...secrets, RPC_URL_2: `not a url ${secrets.RPC_URL_2}` } })
    expect(invalid.code).toBe(78)
    outputs.push(invalid.stdout, invalid.stderr)
  } finally {
    daemon.kill('SIGTERM')
    await daemon.exited
  }
  outputs.push(daemon.output.stdout, daemon.output.stderr)
  // The run produced the lines this test is about.
  const all = outputs.join('\n')
  for (const expected of ['provider call failed', 'JSON-RPC error -32000', ERROR_168, 'circuit breaker opened', '1 dead letter', 'webhook attempt failed', 'webhook dead-lettered', 'settleproof_rpc_requests_total', 'invalid URL']) expect(all).toContain(expected)
  for (const secret of forbidden()) expect(all, `leaked: ${secret}`).not.toContain(secret)
  // Every log line is JSON.
  for (const line of daemon.output.stdout.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow()
})
