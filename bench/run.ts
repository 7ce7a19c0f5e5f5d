// npm run bench: SettleProof on each store backend (lowdb, PostgreSQL) against the
// single-provider floor and a quorum peer, on a real anvil chain with a real ERC-20 and a
// receiver that verifies every signature. Each scenario alternates its systems in one process
// run, several times, and reports median and spread. PostgreSQL is a throwaway cluster with
// production durability (bench/backends.ts), removed at the end. Writes bench/results.json and
// bench/results.md. Bounded: every worker has a time limit.
import { readFile, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { webhookId } from '../src/delivery/webhook-id.ts'
import { queuedOutboxEntry, type OutboxEntry } from '../src/delivery/outbox-entry.ts'
import { BACKENDS, startBenchBackends, type Backend, type BenchBackends } from './backends.ts'
import { backfill, benchConfig, secretOf, type BackfillCase } from './backfill.ts'
import { prepareChain, type BenchChain, type Payment } from './chain.ts'
import { failures, measure, percentile, ratio, round, runWorker, succeeded, summary, type FailedRun, type WorkerResult } from './lib.ts'
import { startBenchReceiver, type BenchReceiver } from './receiver.ts'

const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3)
const BACKFILL_BLOCKS = 2_010
const PER_BLOCK = 10
const CONCURRENCY = 16
const POLL_INTERVAL_MS = 1_000
const LATENCY_SAMPLES = 60
const HISTORY_SIZES = [1_000, 100_000] as const
const HISTORY_PAYMENTS_BLOCKS = 200
const SCENARIOS = ['backfill', 'delivery', 'latency', 'history'] as const

const started = Date.now()
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`)
const perSecond = (x: WorkerResult) => (x.events / x.elapsedMs) * 1000
const rateOf = (runs: (WorkerResult | FailedRun)[]) => summary(succeeded(runs).map(perSecond))
const peakRss = (runs: (WorkerResult | FailedRun)[]) => Math.max(0, ...succeeded(runs).map((x) => x.maxRssMb))

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

async function delivery(chain: BenchChain, receiver: BenchReceiver, backends: BenchBackends) {
  const entries = outboxEntries(chain, chain.payments)
  const runs: Record<Backend | 'floor', (WorkerResult | FailedRun)[]> = { lowdb: [], postgres: [], floor: [] }
  const order = [...BACKENDS, 'floor'] as const
  for (let r = 0; r < REPETITIONS; r++) {
    for (let k = 0; k < order.length; k++) {
      const system = order[(r + k) % order.length]!
      await receiver.reset()
      if (system === 'floor') {
        runs.floor.push(await measure('delivery floor', () => runWorker('got-delivery', { urls: { acme: `${receiver.url}/acme`, globex: `${receiver.url}/globex` }, secrets: { acme: secretOf('acme'), globex: secretOf('globex') }, entries, concurrency: CONCURRENCY })))
      } else {
        runs[system].push(await measure(`delivery ${system}`, () => backends.withPlace(system, (place) => runWorker('settleproof-delivery', { config: benchConfig(chain, receiver.url, place, { webhooks: { concurrency: CONCURRENCY } }), entries }))))
      }
      const stats = await receiver.stats(Number.MAX_SAFE_INTEGER)
      if (stats.unverified > 0) throw new Error(`${stats.unverified} webhooks failed signature verification`)
      const last = runs[system].at(-1)!
      log(`delivery ${system}: ${'failed' in last ? 'failed' : `${round(perSecond(last))} deliveries/s`}, verified ${stats.delivered}`)
    }
  }
  const lowdb = rateOf(runs.lowdb)
  const postgres = rateOf(runs.postgres)
  const floor = rateOf(runs.floor)
  return {
    run_at: new Date().toISOString(),
    events: entries.length,
    concurrency: CONCURRENCY,
    deliveries_per_second: { lowdb, postgres, floor },
    time_ratio_vs_floor: { lowdb: ratio(floor.median, lowdb.median), postgres: ratio(floor.median, postgres.median) },
    postgres_time_over_lowdb: ratio(lowdb.median, postgres.median),
    failed_runs: { lowdb: failures(runs.lowdb), postgres: failures(runs.postgres), floor: failures(runs.floor) },
    postgres_statements: succeeded(runs.postgres).map((x) => x.extra?.statements),
    peak_rss_mb: { lowdb: peakRss(runs.lowdb), postgres: peakRss(runs.postgres), floor: peakRss(runs.floor) },
  }
}

/** Steady-state latency, on lowdb only (the backends differ by a commit's few milliseconds here, under one poll interval). */
async function latency(chain: BenchChain, receiver: BenchReceiver, backends: BenchBackends) {
  await receiver.reset()
  const head = Number(await chain.anvil.client.getBlockNumber())
  const payments: Payment[] = Array.from({ length: LATENCY_SAMPLES }, (_, i) => ({ to: chain.addresses.acme[i % 2]!, amount: String(700_000_000 + i), merchant: 'acme' }))
  const mined = new Map<string, number>()
  const result = await backends.withPlace('lowdb', (place) =>
    runWorker(
      'settleproof-daemon',
      { config: benchConfig(chain, receiver.url, place, { chain: { id: chain.anvil.chainId, confirmations: 1, start_block: head + 1, poll_interval_ms: POLL_INTERVAL_MS, max_block_range: 1000 }, webhooks: { concurrency: CONCURRENCY } }), payments, token: chain.token.address, history: 0 },
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
  return { run_at: new Date().toISOString(), backend: 'lowdb', samples: samples.length, poll_interval_ms: POLL_INTERVAL_MS, confirmations: 1, block_pace_ms: 500, latency_ms: { p50: round(percentile(samples, 50)), p95: round(percentile(samples, 95)), p99: round(percentile(samples, 99)), max: round(Math.max(...samples)) }, target_p95_ms: POLL_INTERVAL_MS + 250, peak_rss_mb: result.maxRssMb }
}

async function history(chain: BenchChain, receiver: BenchReceiver, backends: BenchBackends, fromBlock: number, payments: Payment[]) {
  const cases = BACKENDS.flatMap((backend) => HISTORY_SIZES.map((size) => ({ backend, size })))
  const runs = new Map(cases.map((c) => [`${c.backend} ${c.size}`, [] as (WorkerResult | FailedRun)[]]))
  for (let r = 0; r < Math.max(2, REPETITIONS - 1); r++) {
    for (const { backend, size } of r % 2 === 0 ? cases : [...cases].reverse()) {
      await receiver.reset()
      const result = await measure(`history ${backend} ${size}`, () =>
        backends.withPlace(backend, (place) =>
          runWorker('settleproof-daemon', { config: benchConfig(chain, receiver.url, place, { chain: { id: chain.anvil.chainId, confirmations: 1, start_block: fromBlock, poll_interval_ms: 100, max_block_range: 1000 }, webhooks: { concurrency: CONCURRENCY } }), payments, token: chain.token.address, history: size }, 400_000),
        ),
      )
      runs.get(`${backend} ${size}`)!.push(result)
      if (!('failed' in result)) log(`history ${backend} ${size}: ${round(perSecond(result))} delivered settlements/s (store holds ${String(result.extra?.settled_in_store)} settled; seeding the history took ${String(result.extra?.seed_history_ms)} ms)`)
    }
  }
  const of = (backend: Backend) => {
    const small = runs.get(`${backend} ${HISTORY_SIZES[0]}`)!
    const large = runs.get(`${backend} ${HISTORY_SIZES[1]}`)!
    const s = rateOf(small)
    const l = rateOf(large)
    return {
      delivered_settlements_per_second: { small: s, large: l },
      large_over_small: ratio(l.median, s.median),
      seed_history_ms: summary(succeeded(large).map((x) => Number(x.extra?.seed_history_ms))),
      failed_runs: { small: failures(small), large: failures(large) },
      peak_rss_mb: { small: peakRss(small), large: peakRss(large) },
      statements: backend === 'postgres' ? { small: succeeded(small).map((x) => x.extra?.statements), large: succeeded(large).map((x) => x.extra?.statements) } : undefined,
    }
  }
  return { run_at: new Date().toISOString(), new_settlements: payments.length, settled_before: { small: HISTORY_SIZES[0], large: HISTORY_SIZES[1] }, target: 0.9, lowdb: of('lowdb'), postgres: of('postgres') }
}

type Summary = { median: number; min: number; max: number }
const rate = (s: Summary & { runs?: number[] }, failed: string[] = []) =>
  (s.median === 0 ? 'no run finished' : `${Math.round(s.median).toLocaleString('en')} (${Math.round(s.min).toLocaleString('en')}–${Math.round(s.max).toLocaleString('en')})`) + (failed.length > 0 ? `, ${failed.length} of ${failed.length + (s.runs?.length ?? 0)} runs failed†` : '')
const times = (value: number | null) => (value === null ? '–' : `${value}×`)
const seconds = (s: Summary) => `${(s.median / 1000).toFixed(1)} s (${(s.min / 1000).toFixed(1)}–${(s.max / 1000).toFixed(1)})`
const when = (scenario: { run_at?: string }, results: Record<string, any>) => (scenario.run_at !== undefined && scenario.run_at.slice(0, 10) !== String(results.date).slice(0, 10) ? ` (rerun ${scenario.run_at})` : '')

function markdown(results: Record<string, any>): string {
  const b = results.backfill as any[]
  const d = results.delivery
  const l = results.latency
  const h = results.history
  const pg = results.postgres
  const reasons = new Set<string>()
  const failedOf = (list: string[] | undefined) => {
    for (const reason of list ?? []) reasons.add(reason)
    return list ?? []
  }
  const lines = [
    `Machine: ${results.machine.cpus} × ${results.machine.cpu}, ${results.machine.memory_gb} GiB, Node ${results.machine.node}, PostgreSQL ${pg.server_version} (a throwaway local cluster on the same machine: fsync ${pg.fsync}, synchronous_commit ${pg.synchronous_commit}, full_page_writes ${pg.full_page_writes}, shared_buffers ${pg.shared_buffers}; storage.pool_size 10). ${results.repetitions} repetitions alternating, median (min–max). Run ${results.date}, ${results.duration_s} s in all${results.rerun ? `; ${results.rerun}` : ''}. The machine was shared with other work: figures are noisy.`,
    '',
    `**Backfill settlement**${when(b[0], results)}: ${b[0].events.toLocaleString('en')} matching transfers over ${b[0].blocks.toLocaleString('en')} blocks, an open invoice for each, three providers, ranges of 1,000 blocks. Events per second:`,
    '',
    '| providers | SettleProof, lowdb | SettleProof, PostgreSQL | PostgreSQL time ÷ lowdb time (target ≤ 1.3) | floor: one viem getLogs sweep | peer: ethers FallbackProvider, quorum 2 | time ÷ floor time (lowdb, PostgreSQL) | time ÷ peer time (lowdb, PostgreSQL) |',
    '|---|---|---|---|---|---|---|---|',
    ...b.map(
      (c) =>
        `| ${c.condition} | ${rate(c.events_per_second.lowdb, failedOf(c.failed_runs?.lowdb))} | ${rate(c.events_per_second.postgres, failedOf(c.failed_runs?.postgres))} | ${times(c.postgres_time_over_lowdb)} | ${rate(c.events_per_second.floor, failedOf(c.failed_runs?.floor))} | ${rate(c.events_per_second.peer, failedOf(c.failed_runs?.peer))} | ${times(c.time_ratio_vs_floor.lowdb)}, ${times(c.time_ratio_vs_floor.postgres)} | ${times(c.time_ratio_vs_peer.lowdb)}, ${times(c.time_ratio_vs_peer.postgres)} |`,
    ),
    '',
    `**Delivery**${when(d, results)}: ${d.events.toLocaleString('en')} events already in the outbox, to a receiver (another process) that verifies every signature, concurrency ${d.concurrency}. Deliveries per second:`,
    '',
    '| SettleProof outbox, lowdb | SettleProof outbox, PostgreSQL | PostgreSQL time ÷ lowdb time | floor: bare got loop, same signed payloads, no outbox | time ÷ floor time (lowdb, PostgreSQL) |',
    '|---|---|---|---|---|',
    `| ${rate(d.deliveries_per_second.lowdb, failedOf(d.failed_runs?.lowdb))} | ${rate(d.deliveries_per_second.postgres, failedOf(d.failed_runs?.postgres))} | ${times(d.postgres_time_over_lowdb)} | ${rate(d.deliveries_per_second.floor, failedOf(d.failed_runs?.floor))} | ${times(d.time_ratio_vs_floor.lowdb)}, ${times(d.time_ratio_vs_floor.postgres)} |`,
    '',
    `**History**${when(h, results)}: webhook-delivered settlements per second for ${h.new_settlements.toLocaleString('en')} new payments with ${h.settled_before.small.toLocaleString('en')} vs ${h.settled_before.large.toLocaleString('en')} settled invoices (each with its delivered event) already in the store (target: ratio ≥ ${h.target} on each backend):`,
    '',
    `| backend | ${h.settled_before.small.toLocaleString('en')} settled | ${h.settled_before.large.toLocaleString('en')} settled | ratio | seeding the ${h.settled_before.large.toLocaleString('en')} (setup, not timed) |`,
    '|---|---|---|---|---|',
    ...(['lowdb', 'postgres'] as const).map(
      (backend) =>
        `| ${backend === 'lowdb' ? 'lowdb' : 'PostgreSQL'} | ${rate(h[backend].delivered_settlements_per_second.small, failedOf(h[backend].failed_runs?.small))} | ${rate(h[backend].delivered_settlements_per_second.large, failedOf(h[backend].failed_runs?.large))} | ${h[backend].large_over_small ?? '–'} | ${seconds(h[backend].seed_history_ms)} |`,
    ),
    '',
    `**Steady-state latency**${when(l, results)} (lowdb), block mined → verified webhook received, ${l.samples} blocks at one every ${l.block_pace_ms} ms, poll interval ${l.poll_interval_ms} ms, ${l.confirmations} confirmation: p50 ${l.latency_ms.p50} ms, p95 ${l.latency_ms.p95} ms, p99 ${l.latency_ms.p99} ms (target p95 ≤ ${l.target_p95_ms} ms).`,
    '',
    '**Peak RSS (MB)**, SettleProof lowdb / PostgreSQL: ' +
      [
        ...b.map((c) => `backfill ${c.condition}: ${c.peak_rss_mb.lowdb} / ${c.peak_rss_mb.postgres} (floor ${c.peak_rss_mb.floor}, peer ${c.peak_rss_mb.peer})`),
        `delivery: ${d.peak_rss_mb.lowdb} / ${d.peak_rss_mb.postgres} (floor ${d.peak_rss_mb.floor})`,
        `history ${h.settled_before.small.toLocaleString('en')} settled: ${h.lowdb.peak_rss_mb.small} / ${h.postgres.peak_rss_mb.small}`,
        `history ${h.settled_before.large.toLocaleString('en')} settled: ${h.lowdb.peak_rss_mb.large} / ${h.postgres.peak_rss_mb.large}`,
        `latency: ${l.peak_rss_mb}`,
      ].join('; ') +
      '.',
    '',
  ]
  if (reasons.size > 0) lines.push(`† Failed runs (a run that fails is recorded and the bench goes on): ${[...reasons].map((r) => `"${r}"`).join('; ')}.`, '')
  return lines.join('\n')
}

const only = process.argv.slice(2)
for (const name of only) if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario ${name}: expected ${SCENARIOS.join(', ')}`)
const wanted = (name: string) => only.length === 0 || only.includes(name)
log(`preparing the chain: ${BACKFILL_BLOCKS} blocks × ${PER_BLOCK} transfers`)
const chain = await prepareChain(BACKFILL_BLOCKS, PER_BLOCK)
const receiver = await startBenchReceiver({ '/acme': secretOf('acme'), '/globex': secretOf('globex') })
log('starting the PostgreSQL cluster (fsync on)')
const backends = await startBenchBackends(wanted('backfill') || wanted('delivery') || wanted('history'))
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  repetitions: REPETITIONS,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
  postgres: backends.postgres,
}
try {
  if (wanted('backfill')) {
    results.backfill = []
    for (const condition of ['honest', 'one provider down', 'one provider lying'] as BackfillCase[]) {
      const result = { run_at: new Date().toISOString(), ...(await backfill(chain, receiver.url, backends, condition, REPETITIONS)) }
      ;(results.backfill as unknown[]).push(result)
      const eps = result.events_per_second
      log(`backfill ${condition}: lowdb ${eps.lowdb.median}/s, PostgreSQL ${eps.postgres.median}/s (time ${result.postgres_time_over_lowdb}× lowdb's), floor ${eps.floor.median}/s, peer ${eps.peer.median}/s`)
    }
  }
  if (wanted('delivery')) results.delivery = await delivery(chain, receiver, backends)
  if (wanted('latency')) {
    results.latency = await latency(chain, receiver, backends)
    log(`latency: ${JSON.stringify((results.latency as { latency_ms: unknown }).latency_ms)}`)
  }
  if (wanted('history')) {
    log('preparing the history payments')
    const before = chain.payments.length
    const segment = await prepareHistorySegment(chain)
    results.history = await history(chain, receiver, backends, segment.fromBlock, chain.payments.slice(before))
    for (const backend of BACKENDS) log(`history ${backend}: ratio ${(results.history as Record<Backend, { large_over_small: number }>)[backend].large_over_small}`)
  }
} finally {
  await backends.close()
  await receiver.stop()
  await chain.close()
}
const duration = Math.round((Date.now() - started) / 1000)
const out = fileURLToPath(new URL('./', import.meta.url))
let merged: Record<string, unknown> = { ...results, duration_s: duration }
if (only.length > 0) {
  // A rerun of some scenarios keeps the others from the last full run, and says what was rerun.
  const previous = JSON.parse(await readFile(join(out, 'results.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>
  merged = { ...previous, ...Object.fromEntries(only.map((name) => [name, results[name]])) }
  merged.rerun = [typeof previous.rerun === 'string' ? previous.rerun : undefined, `${only.join(', ')} rerun ${String(results.date)} (${duration} s)`].filter(Boolean).join('; ')
}
await writeFile(join(out, 'results.json'), `${JSON.stringify(merged, null, 2)}\n`)
if (SCENARIOS.every((name) => merged[name] !== undefined) && merged.postgres != null) await writeFile(join(out, 'results.md'), markdown(merged))
log(`done in ${duration} s: bench/results.json${SCENARIOS.every((name) => merged[name] !== undefined) ? ', bench/results.md' : ''}`)

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
