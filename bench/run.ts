// npm run bench: SettleProof against the single-provider floor and a quorum peer, on a real
// anvil chain with a real ERC-20 and a receiver that verifies every signature. Each scenario
// alternates its systems in one process run, several times, and reports median and spread.
// Writes bench/results.json and bench/results.md. Bounded: every worker has a time limit.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { webhookId } from '../src/delivery/webhook-id.ts'
import { queuedOutboxEntry, type OutboxEntry } from '../src/delivery/outbox-entry.ts'
import { backfill, benchConfig, secretOf, type BackfillCase } from './backfill.ts'
import { prepareChain, type BenchChain, type Payment } from './chain.ts'
import { percentile, round, runWorker, summary, type WorkerResult } from './lib.ts'
import { startBenchReceiver, type BenchReceiver } from './receiver.ts'

const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3)
const BACKFILL_BLOCKS = 2_010
const PER_BLOCK = 10
const CONCURRENCY = 16
const POLL_INTERVAL_MS = 1_000
const LATENCY_SAMPLES = 60
const HISTORY_SIZES = [1_000, 100_000] as const
const HISTORY_PAYMENTS_BLOCKS = 200

const started = Date.now()
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`)

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'settleproof-bench-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function outboxEntries(chain: BenchChain, payments: Payment[]): OutboxEntry[] {
  const at = new Date().toISOString()
  return payments.map((p, i) => {
    const uuid = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`
    const txHash = `0x${(i + 1).toString(16).padStart(64, '0')}` as const
    const id = webhookId('settled', uuid, txHash)
    return queuedOutboxEntry({
      webhookId: id,
      merchantId: p.merchant,
      invoiceUuid: uuid,
      type: 'invoice.settled',
      at,
      data: { invoice_uuid: uuid, merchant_id: p.merchant, chain_id: chain.anvil.chainId, token: chain.token.address, from: chain.payer, to: p.to, amount: p.amount, tx_hash: txHash, block_number: chain.fromBlock + Math.floor(i / PER_BLOCK), block_hash: txHash, log_index: i % PER_BLOCK, confirmations: 1, providers: ['primary', 'secondary'], detected_at: at, settled_at: at },
    })
  })
}

async function delivery(chain: BenchChain, receiver: BenchReceiver) {
  const entries = outboxEntries(chain, chain.payments)
  const runs: Record<'settleproof' | 'floor', WorkerResult[]> = { settleproof: [], floor: [] }
  for (let r = 0; r < REPETITIONS; r++) {
    for (const system of r % 2 === 0 ? (['settleproof', 'floor'] as const) : (['floor', 'settleproof'] as const)) {
      await receiver.reset()
      if (system === 'floor') {
        runs.floor.push(await runWorker('got-delivery', { urls: { acme: `${receiver.url}/acme`, globex: `${receiver.url}/globex` }, secrets: { acme: secretOf('acme'), globex: secretOf('globex') }, entries, concurrency: CONCURRENCY }))
      } else {
        runs.settleproof.push(await withDir((dir) => runWorker('settleproof-delivery', { config: benchConfig(chain, receiver.url, dir, { webhooks: { concurrency: CONCURRENCY } }), entries })))
      }
      const stats = await receiver.stats(Number.MAX_SAFE_INTEGER)
      if (stats.unverified > 0) throw new Error(`${stats.unverified} webhooks failed signature verification`)
      log(`delivery ${system}: ${round(((system === 'floor' ? runs.floor : runs.settleproof).at(-1)!.events / (system === 'floor' ? runs.floor : runs.settleproof).at(-1)!.elapsedMs) * 1000)} deliveries/s, verified ${stats.delivered}`)
    }
  }
  const rate = (results: WorkerResult[]) => summary(results.map((x) => (x.events / x.elapsedMs) * 1000))
  const sp = rate(runs.settleproof)
  const floor = rate(runs.floor)
  return { events: entries.length, concurrency: CONCURRENCY, deliveries_per_second: { settleproof: sp, floor }, time_ratio_vs_floor: round(floor.median / sp.median, 2), peak_rss_mb: { settleproof: Math.max(...runs.settleproof.map((x) => x.maxRssMb)), floor: Math.max(...runs.floor.map((x) => x.maxRssMb)) } }
}

async function latency(chain: BenchChain, receiver: BenchReceiver) {
  await receiver.reset()
  const head = Number(await chain.anvil.client.getBlockNumber())
  const payments: Payment[] = Array.from({ length: LATENCY_SAMPLES }, (_, i) => ({ to: chain.addresses.acme[i % 2]!, amount: String(700_000_000 + i), merchant: 'acme' }))
  const mined = new Map<string, number>()
  const result = await withDir((dir) =>
    runWorker(
      'settleproof-daemon',
      { config: benchConfig(chain, receiver.url, dir, { chain: { id: chain.anvil.chainId, confirmations: 1, start_block: head + 1, poll_interval_ms: POLL_INTERVAL_MS, max_block_range: 1000 }, webhooks: { concurrency: CONCURRENCY } }), payments, token: chain.token.address, history: 0 },
      240_000,
      (message) => {
        if (!message.ready) return
        void (async () => {
          // Steady blocks: one transfer every 500 ms, each mined (automine) into its own block.
          for (const p of payments) {
            const tx = await chain.token.transfer(chain.payer, p.to, BigInt(p.amount))
            mined.set(tx, Date.now())
            await new Promise((resolve) => setTimeout(resolve, 500))
          }
        })()
      },
    ),
  )
  const arrivals = (await receiver.stats()).arrivals.filter((a) => a.status === 200 && mined.has(a.tx))
  const first = new Map<string, number>()
  for (const a of arrivals) if (!first.has(a.tx)) first.set(a.tx, a.at)
  const samples = [...first].map(([tx, at]) => at - mined.get(tx)!)
  if (samples.length !== LATENCY_SAMPLES) throw new Error(`latency: ${samples.length} of ${LATENCY_SAMPLES} webhooks arrived`)
  return { samples: samples.length, poll_interval_ms: POLL_INTERVAL_MS, confirmations: 1, block_pace_ms: 500, latency_ms: { p50: round(percentile(samples, 50)), p95: round(percentile(samples, 95)), p99: round(percentile(samples, 99)), max: round(Math.max(...samples)) }, target_p95_ms: POLL_INTERVAL_MS + 250, peak_rss_mb: result.maxRssMb }
}

async function history(chain: BenchChain, receiver: BenchReceiver, fromBlock: number, payments: Payment[]) {
  const runs = new Map<number, WorkerResult[]>(HISTORY_SIZES.map((n) => [n, []]))
  for (let r = 0; r < Math.max(2, REPETITIONS - 1); r++) {
    for (const size of r % 2 === 0 ? HISTORY_SIZES : [...HISTORY_SIZES].reverse()) {
      await receiver.reset()
      const result = await withDir((dir) =>
        runWorker('settleproof-daemon', { config: benchConfig(chain, receiver.url, dir, { chain: { id: chain.anvil.chainId, confirmations: 1, start_block: fromBlock, poll_interval_ms: 100, max_block_range: 1000 }, webhooks: { concurrency: CONCURRENCY } }), payments, token: chain.token.address, history: size }, 400_000),
      )
      runs.get(size)!.push(result)
      log(`history ${size}: ${round((result.events / result.elapsedMs) * 1000)} delivered settlements/s (store holds ${String(result.extra?.settled_in_store)})`)
    }
  }
  const rate = (n: number) => summary(runs.get(n)!.map((x) => (x.events / x.elapsedMs) * 1000))
  const small = rate(HISTORY_SIZES[0])
  const large = rate(HISTORY_SIZES[1])
  return { new_settlements: payments.length, settled_before: { small: HISTORY_SIZES[0], large: HISTORY_SIZES[1] }, delivered_settlements_per_second: { small, large }, large_over_small: round(large.median / small.median, 2), target: 0.8, peak_rss_mb: { small: Math.max(...runs.get(HISTORY_SIZES[0])!.map((x) => x.maxRssMb)), large: Math.max(...runs.get(HISTORY_SIZES[1])!.map((x) => x.maxRssMb)) } }
}

function markdown(results: Record<string, any>): string {
  const b = results.backfill as any[]
  const d = results.delivery
  const l = results.latency
  const h = results.history
  const rate = (s: { median: number; min: number; max: number }) => `${Math.round(s.median).toLocaleString('en')} (${Math.round(s.min).toLocaleString('en')}–${Math.round(s.max).toLocaleString('en')})`
  return [
    `Machine: ${results.machine.cpus} × ${results.machine.cpu}, ${results.machine.memory_gb} GiB, Node ${results.machine.node}; ${results.repetitions} repetitions alternating, median (min–max). Run ${results.date}, ${results.duration_s} s.`,
    '',
    `**Backfill settlement**: ${b[0].events.toLocaleString('en')} matching transfers over ${b[0].blocks.toLocaleString('en')} blocks, an open invoice for each, three providers, ranges of 1,000 blocks. Events per second:`,
    '',
    '| providers | SettleProof | floor: one viem getLogs sweep | peer: ethers FallbackProvider, quorum 2 | SettleProof time ÷ floor time | SettleProof time ÷ peer time |',
    '|---|---|---|---|---|---|',
    ...b.map((c) => `| ${c.condition} | ${rate(c.events_per_second.settleproof)} | ${rate(c.events_per_second.floor)} | ${rate(c.events_per_second.peer)} | ${c.time_ratio_vs_floor}× | ${c.time_ratio_vs_peer}× |`),
    '',
    `**Delivery**: ${d.events.toLocaleString('en')} events to a receiver (another process) that verifies every signature, concurrency ${d.concurrency}. Deliveries per second: SettleProof outbox ${rate(d.deliveries_per_second.settleproof)}; floor (bare got loop, same signed payloads, no outbox) ${rate(d.deliveries_per_second.floor)}; SettleProof time ÷ floor time ${d.time_ratio_vs_floor}×.`,
    '',
    `**Steady-state latency**, block mined → verified webhook received, ${l.samples} blocks at one every ${l.block_pace_ms} ms, poll interval ${l.poll_interval_ms} ms, ${l.confirmations} confirmation: p50 ${l.latency_ms.p50} ms, p95 ${l.latency_ms.p95} ms, p99 ${l.latency_ms.p99} ms (target p95 ≤ ${l.target_p95_ms} ms).`,
    '',
    `**History**: webhook-delivered settlements per second for ${h.new_settlements.toLocaleString('en')} new payments with ${h.settled_before.small.toLocaleString('en')} vs ${h.settled_before.large.toLocaleString('en')} settled invoices already in the store: ${rate(h.delivered_settlements_per_second.small)} vs ${rate(h.delivered_settlements_per_second.large)}, ratio ${h.large_over_small} (target ≥ ${h.target}).`,
    '',
    '**Peak RSS (MB)**: ' +
      [
        ...b.map((c) => `backfill ${c.condition}: SettleProof ${c.peak_rss_mb.settleproof}, floor ${c.peak_rss_mb.floor}, peer ${c.peak_rss_mb.peer}`),
        `delivery: SettleProof ${d.peak_rss_mb.settleproof}, floor ${d.peak_rss_mb.floor}`,
        `latency: SettleProof ${l.peak_rss_mb}`,
        `history: ${h.peak_rss_mb.small} (${h.settled_before.small.toLocaleString('en')} settled), ${h.peak_rss_mb.large} (${h.settled_before.large.toLocaleString('en')} settled)`,
      ].join('; ') +
      '.',
    '',
  ].join('\n')
}

const only = process.argv.slice(2)
const wanted = (name: string) => only.length === 0 || only.includes(name)
log(`preparing the chain: ${BACKFILL_BLOCKS} blocks × ${PER_BLOCK} transfers`)
const chain = await prepareChain(BACKFILL_BLOCKS, PER_BLOCK)
const receiver = await startBenchReceiver({ '/acme': secretOf('acme'), '/globex': secretOf('globex') })
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  repetitions: REPETITIONS,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
}
try {
  if (wanted('backfill')) {
    results.backfill = []
    for (const condition of ['honest', 'one provider down', 'one provider lying'] as BackfillCase[]) {
      const result = await backfill(chain, receiver.url, condition, REPETITIONS)
      ;(results.backfill as unknown[]).push(result)
      log(`backfill ${condition}: SettleProof ${result.events_per_second.settleproof.median}/s, floor ${result.events_per_second.floor.median}/s, peer ${result.events_per_second.peer.median}/s`)
    }
  }
  if (wanted('delivery')) results.delivery = await delivery(chain, receiver)
  if (wanted('latency')) {
    results.latency = await latency(chain, receiver)
    log(`latency: ${JSON.stringify((results.latency as { latency_ms: unknown }).latency_ms)}`)
  }
  if (wanted('history')) {
    log('preparing the history payments')
    const before = chain.payments.length
    const segment = await prepareHistorySegment(chain)
    results.history = await history(chain, receiver, segment.fromBlock, chain.payments.slice(before))
  }
} finally {
  await receiver.stop()
  await chain.close()
}
results.duration_s = Math.round((Date.now() - started) / 1000)
const out = fileURLToPath(new URL('./', import.meta.url))
await writeFile(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
if (wanted('backfill') && wanted('delivery') && wanted('latency') && wanted('history')) await writeFile(join(out, 'results.md'), markdown(results))
log(`done: bench/results.json${only.length === 0 ? ', bench/results.md' : ''}`)

/** More blocks on the same chain, for the history scenario: their payments join `chain.payments`. */
async function prepareHistorySegment(chain: BenchChain): Promise<{ fromBlock: number }> {
  const { tokenAbi } = await import('../src/demo/token.ts')
  const recipients = [chain.addresses.acme[0]!, chain.addresses.globex[0]!, chain.addresses.acme[1]!, chain.addresses.globex[1]!]
  const fromBlock = Number(await chain.anvil.client.getBlockNumber()) + 1
  const nonce = await chain.anvil.client.getTransactionCount({ address: chain.payer })
  let last: `0x${string}` | undefined
  for (let b = 0; b < HISTORY_PAYMENTS_BLOCKS; b++) {
    const to = [] as `0x${string}`[]
    const values = [] as bigint[]
    for (let i = 0; i < PER_BLOCK; i++) {
      const n = chain.payments.length
      const recipient = recipients[n % 4]!
      const amount = 500_000_000n + BigInt(n)
      to.push(recipient)
      values.push(amount)
      chain.payments.push({ to: recipient, amount: amount.toString(), merchant: chain.addresses.acme.includes(recipient) ? 'acme' : 'globex' })
    }
    last = await chain.anvil.client.writeContract({ address: chain.token.address, abi: tokenAbi, functionName: 'batchTransfer', args: [to, values], account: chain.payer, chain: chain.anvil.client.chain, nonce: nonce + b, gas: 60_000n + 40_000n * BigInt(PER_BLOCK) })
  }
  await chain.anvil.client.waitForTransactionReceipt({ hash: last!, pollingInterval: 50 })
  return { fromBlock }
}
