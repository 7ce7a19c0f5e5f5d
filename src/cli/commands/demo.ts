import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import got from 'got'
import type { Address } from 'viem'
import { parseConfig } from '../../config/load.ts'
import { silentLogger } from '../../ops/logger.ts'
import { startDaemon } from '../../daemon.ts'
import { startAnvil } from '../../demo/anvil.ts'
import { startFaultProxy } from '../../demo/fault-proxy.ts'
import { deployToken } from '../../demo/token.ts'
import { startWebhookReceiver } from '../../demo/webhook-receiver.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'

export const demoHelp = `Usage: settleproof demo

Runs the whole product on this machine with no configuration: a local anvil chain, a test
ERC-20, three providers of which one lies about amounts, a local webhook receiver that
verifies Standard Webhooks signatures, two merchants whose invoices are created over HTTP and
paid on chain, and one merchant endpoint that fails at first so that a retry is visible.
Prints each settlement and delivery as it happens and a summary; exit 0 when every invoice
was settled once and its webhook delivered and verified. Needs the development install
(npm install), which brings anvil.
`

const DEADLINE_MS = 90_000
const secretOf = (name: string) => `whsec_${Buffer.from(`settleproof-demo-secret-${name}`).toString('base64')}`

/** `settleproof demo`. */
export async function demo(out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const say = (line: string) => out.write(`${line}\n`)
  const dir = await mkdtemp(join(tmpdir(), 'settleproof-demo-'))
  const cleanup: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })]
  try {
    const anvil = await startAnvil()
    cleanup.unshift(() => anvil.stop())
    say(`▶ local chain: anvil on ${anvil.url.replace(/^http:\/\//, '')} (chain id ${anvil.chainId})`)
    const token = await deployToken(anvil)
    const [payer, acmeAddress, globexAddress] = anvil.accounts.map((a) => a.toLowerCase() as Address)
    await token.mint(payer!, 10n ** 12n)
    say(`▶ test ERC-20 TUSD (6 decimals) at ${token.address}`)
    const proxies = await Promise.all([startFaultProxy(anvil.url), startFaultProxy(anvil.url), startFaultProxy(anvil.url, { kind: 'lie', lie: 'amount' })])
    cleanup.unshift(...proxies.map((p) => () => p.close()))
    say('▶ providers: primary and secondary honest, tertiary lies (reports every amount ×10 + 7)')
    const receiver = await startWebhookReceiver({ '/acme': secretOf('acme'), '/globex': secretOf('globex') })
    cleanup.unshift(() => receiver.close())
    receiver.setBehaviour('/acme', { kind: 'status', status: 503 })
    say(`▶ webhook receiver on ${receiver.url.replace(/^http:\/\//, '')}: verifies every signature; acme's endpoint answers 503 until the first retry`)

    const merchant = (id: string, address: Address) => ({
      id,
      webhook_url: `${receiver.url}/${id}`,
      webhook_secret: secretOf(id),
      api_key: `demo-${id}-api-key`,
      receive_addresses: [address],
      tokens: [token.address],
    })
    const config = parseConfig({
      chain: { id: anvil.chainId, confirmations: 2, start_block: 1, poll_interval_ms: 200, max_block_range: 500 },
      providers: proxies.map((p, i) => ({ name: ['primary', 'secondary', 'tertiary'][i], url: p.url })),
      quorum: 2,
      storage: { path: join(dir, 'settleproof.json') },
      dlq: { path: join(dir, 'dlq.jsonl') },
      server: { host: '127.0.0.1', port: 0 },
      webhooks: { max_attempts: 5, initial_delay_ms: 400, max_delay_ms: 2_000, timeout_ms: 2_000, concurrency: 4 },
      merchants: [merchant('acme', acmeAddress!), merchant('globex', globexAddress!)],
    })
    const daemon = await startDaemon({ config, logger: silentLogger() })
    cleanup.unshift(() => daemon.stop())
    const api = got.extend({ prefixUrl: `http://127.0.0.1:${daemon.server.port}/v1`, responseType: 'json', retry: { limit: 0 } })
    say(`▶ daemon: invoice API on 127.0.0.1:${daemon.server.port}, 2-of-3 quorum, ${config.chain.confirmations} confirmations`)
    say('')

    const disagreements = new Map<string, number>()
    daemon.reader.onDisagreement((d) => disagreements.set(d.provider, (disagreements.get(d.provider) ?? 0) + 1))
    daemon.settlement.onOutcome((o) => {
      if (o.kind === 'settled') say(`✔ settled  ${o.merchantId}/${o.invoiceUuid.slice(0, 8)}  ${units(o.log.value)} TUSD  block ${o.log.blockNumber}  agreed by ${o.log.providers.join(' + ')}`)
      else if (o.kind === 'unmatched') say(`• unmatched ${units(o.log.value)} TUSD to ${o.merchantId} (no open invoice for that amount) → payment.unmatched`)
    })
    daemon.outbox.onAttempt((a) => {
      if (a.outcome === 'delivered') say(`  ↳ webhook ${a.webhookId.slice(0, 12)}… delivered to ${a.merchantId} (attempt ${a.attempt})`)
      else say(`  ↳ webhook ${a.webhookId.slice(0, 12)}… to ${a.merchantId} failed (${a.reason}), attempt ${a.attempt}: ${a.outcome === 'dead' ? 'dead-lettered' : 'will retry with backoff'}`)
      if (a.merchantId === 'acme' && a.outcome === 'retrying') receiver.setBehaviour('/acme', { kind: 'ok' })
    })

    const invoices = [
      { merchant: 'acme', address: acmeAddress!, amount: 125_000_000n },
      { merchant: 'acme', address: acmeAddress!, amount: 42_500_000n },
      { merchant: 'globex', address: globexAddress!, amount: 9_990_000n },
      { merchant: 'globex', address: globexAddress!, amount: 1_000_000_000n },
    ].map((i) => ({ ...i, uuid: randomUUID() }))
    for (const invoice of invoices) {
      const response = await api.post('invoices', {
        headers: { authorization: `Bearer demo-${invoice.merchant}-api-key` },
        json: { uuid: invoice.uuid, token: token.address, amount: invoice.amount.toString() },
      })
      say(`→ ${invoice.merchant} created invoice ${invoice.uuid.slice(0, 8)} for ${units(invoice.amount.toString())} TUSD (HTTP ${response.statusCode})`)
    }
    for (const invoice of invoices) {
      await token.transfer(payer!, invoice.address, invoice.amount)
      say(`→ payer paid ${units(invoice.amount.toString())} TUSD to ${invoice.merchant}`)
    }
    await token.transfer(payer!, globexAddress!, 3_000_000n)
    say('→ payer sent 3 TUSD to globex without an invoice')
    await anvil.client.mine({ blocks: config.chain.confirmations })

    const deadline = Date.now() + DEADLINE_MS
    const settledAndDelivered = () => invoices.every((i) => receiver.delivered(`/${i.merchant}`).some((r) => r.payload.data.invoice_uuid === i.uuid && r.verified))
    while (!settledAndDelivered() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))

    const statuses = await Promise.all(
      invoices.map(async (i) => (await api.get(`invoices/${i.uuid}`, { headers: { authorization: `Bearer demo-${i.merchant}-api-key` } }).json<{ status: string; delivery: { status: string } | null }>())),
    )
    const settled = statuses.filter((s) => s.status === 'settled').length
    const delivered = statuses.filter((s) => s.delivery?.status === 'delivered').length
    const ids = new Map<string, Set<string>>()
    for (const r of receiver.received) if (r.payload.data.invoice_uuid) ids.set(String(r.payload.data.invoice_uuid), (ids.get(String(r.payload.data.invoice_uuid)) ?? new Set()).add(r.webhookId))
    say('')
    say('Summary')
    say(`  invoices settled: ${settled}/${invoices.length}; webhooks delivered: ${delivered}/${invoices.length}`)
    say(`  webhook requests received: ${receiver.received.length}, all signatures verified: ${receiver.received.every((r) => r.verified)}; one webhook-id per invoice across retries: ${[...ids.values()].every((s) => s.size === 1)}`)
    say(`  answers rejected as disagreeing with the quorum: ${[...disagreements].map(([p, n]) => `${p} ×${n}`).join(', ') || 'none'}`)
    const status = daemon.reader.status()
    say(`  checkpoint ${status.checkpoint}, head ${status.head}; providers ${status.providers.map((p) => `${p.name} ${p.state}`).join(', ')}`)
    return settled === invoices.length && delivered === invoices.length && receiver.received.every((r) => r.verified) ? EXIT.ok : EXIT.failure
  } finally {
    for (const step of cleanup) await step().catch(() => undefined)
  }
}

function units(value: string): string {
  const padded = value.padStart(7, '0')
  return `${padded.slice(0, -6)}.${padded.slice(-6)}`.replace(/\.?0+$/, '')
}
