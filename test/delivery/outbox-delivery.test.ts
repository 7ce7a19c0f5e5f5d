import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { foldDeadLetters } from '../../src/delivery/dead-letter.ts'
import { readDeadLetterLines } from '../../src/store/dead-letter-file.ts'
import type { DeliveryAttempt } from '../../src/delivery/outbox-worker.ts'
import { runCli } from '../support/cli.ts'
import { daemonDocument, eventually, merchantAddress, startTestDaemon, writeDaemonConfig, startMerchantWorld, type MerchantWorld } from '../support/daemon-harness.ts'
import type { ChainFixture } from '../support/reader-harness.ts'
import { BACKENDS, testStorage, type Backend } from '../support/storage.ts'
import type { ReceiverBehaviour, WebhookReceiver } from '../support/webhook-receiver.ts'

// Everything is real: anvil and a deployed ERC-20, three HTTP providers, the daemon and its HTTP
// server, the merchants' webhook receiver failing in real ways (500, a hang, connection resets,
// 410), the CLI (`status`, `dlq replay`, `dlq list`) as child processes, the DLQ file, and the
// store: a lowdb file, or a database in the run's real PostgreSQL cluster.

let world: MerchantWorld
let chain: ChainFixture
let receiver: WebhookReceiver
let round = 0

beforeAll(async () => {
  world = await startMerchantWorld()
  ;({ chain, receiver } = world)
})
afterAll(async () => {
  await world.close()
})

/** `status --json` as the CLI prints it; undefined while a run printed nothing whole (a loaded machine). */
async function statusJson(configPath: string): Promise<unknown> {
  const run = await runCli(['status', '--json', '--config', configPath], { timeoutMs: 60_000 })
  try {
    return JSON.parse(run.stdout)
  } catch {
    return undefined
  }
}

/** A daemon with its own store (on `backend`) and DLQ; a config file for the CLI beside them. */
async function daemonFor(backend: Backend, overrides: Record<string, unknown> = {}, random?: () => number) {
  const dir = join(chain.dir, `daemon-${++round}`)
  // Each daemon starts after the blocks earlier tests filled, so it sees only its own payments.
  const head = Number(await chain.anvil.client.getBlockNumber())
  const document = daemonDocument(chain, receiver, dir, { chain: { id: chain.anvil.chainId, confirmations: 1, start_block: head + 1, poll_interval_ms: 50 }, ...overrides }, await testStorage(backend, dir))
  const d = await startTestDaemon(document, random ? { random } : {})
  const configPath = join(chain.dir, `daemon-${round}.yaml`)
  await writeDaemonConfig(configPath, document)
  return { ...d, configPath, dlqPath: join(dir, 'dlq.jsonl') }
}

async function invoiceAndPay(d: Awaited<ReturnType<typeof daemonFor>>, merchant: 'acme' | 'globex', amount: bigint) {
  const uuid = randomUUID()
  expect((await d.api(merchant).post('invoices', { json: { uuid, token: chain.token.address, amount: amount.toString() } })).statusCode).toBe(201)
  await chain.token.transfer(chain.payer, merchantAddress(chain, merchant), amount)
  return uuid
}

/**
 * Each way a merchant fails, on lowdb; on PostgreSQL the first one only: it runs the store's
 * whole part (attempts recorded, the dead letter in the database and the local file, `status`,
 * `dlq replay` and `dlq list` from other processes, the replay recorded by the daemon). The
 * other two differ only in how the merchant fails, which the store never sees; one is enough
 * there, and keeps the suite's time in check.
 */
const FAILURE_CASES = BACKENDS.flatMap((backend) =>
  (
    [
      ['answers 500', { kind: 'status', status: 500 }, 'HTTP 500'],
      ['times out', { kind: 'hang' }, 'timed out'],
      ['resets connections', { kind: 'reset' }, 'connection failed'],
    ] as [string, ReceiverBehaviour, string][]
  )
    .filter((_, i) => backend === 'lowdb' || i === 0)
    .map(([label, failure, errorText]) => [backend, label, failure, errorText] as const),
)

describe('webhook delivery when a merchant endpoint fails', () => {
  for (const [backend, label, failure, errorText] of FAILURE_CASES) {
    it(`${label} (${backend}): retries with growing delays, dead-letters, and after recovery dlq replay --all delivers it with the same webhook-id; the other merchant is unaffected`, { timeout: 240_000 }, async () => {
      receiver.setBehaviour('/acme', failure)
      receiver.setBehaviour('/globex', { kind: 'ok' })
      // Jitter pinned to its ceiling so the schedule is visible: 49, 99, 199 ms between 4 attempts.
      // A merchant's answer (and a replay's) may take long on a loaded machine: only the hang
      // case needs a short timeout, and even it is far above a healthy answer's time.
      const d = await daemonFor(backend, { webhooks: { max_attempts: 4, initial_delay_ms: 50, max_delay_ms: 400, timeout_ms: failure.kind === 'hang' ? 2_000 : 10_000, concurrency: 8, drain_timeout_ms: 2_000 } }, () => 0.999)
      const recorded: DeliveryAttempt[] = []
      d.daemon.outbox.onAttempt((a) => recorded.push(a))
      try {
        const acmeUuid = await invoiceAndPay(d, 'acme', 4_000_000n + BigInt(round))
        const globexUuid = await invoiceAndPay(d, 'globex', 5_000_000n + BigInt(round))
        await eventually(async () => foldDeadLetters(await readDeadLetterLines(d.dlqPath)).length === 1, 60_000, 'a dead letter')

        const attempts = receiver.received.filter((r) => r.path === '/acme' && r.payload.data.invoice_uuid === acmeUuid)
        expect(attempts).toHaveLength(4)
        expect(new Set(attempts.map((a) => a.webhookId)).size).toBe(1)
        expect(attempts.every((a) => a.verified)).toBe(true)
        // The schedule as the worker decided and kept it, on its own clock (never wall-clock gaps):
        // growing backoff, and no attempt before its retry fell due.
        // The dead letter is written before the death is recorded and reported: wait for the report.
        const scheduleOf = () => recorded.filter((a) => a.webhookId === attempts[0]!.webhookId)
        await eventually(() => scheduleOf().length === 4, 20_000, 'the fourth attempt reported')
        const schedule = scheduleOf()
        expect(schedule.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'retrying'], [2, 'retrying'], [3, 'retrying'], [4, 'dead']])
        expect(schedule.map((a) => a.retryDelayMs)).toEqual([49, 99, 199, null])
        for (let i = 1; i < schedule.length; i++) expect(schedule[i]!.startedAt).toBeGreaterThanOrEqual(schedule[i - 1]!.finishedAt + schedule[i - 1]!.retryDelayMs!)

        const [letter] = foldDeadLetters(await readDeadLetterLines(d.dlqPath))
        expect(letter).toMatchObject({ webhook_id: attempts[0]!.webhookId, merchant_id: 'acme', type: 'invoice.settled', attempts: 4, replayed_at: null })
        expect(letter!.last_error).toContain(errorText)
        expect(letter!.url).toBe(`${receiver.url}/acme`)
        // The dead letter is made durable first, then the store records the death: wait for the second.
        const acmeInvoice = async () => (await d.api('acme').get(`invoices/${acmeUuid}`)).body as unknown as { status: string; delivery: { status: string } }
        await eventually(async () => (await acmeInvoice()).delivery.status === 'dead', 20_000, 'death recorded')
        expect(await acmeInvoice()).toMatchObject({ status: 'settled', delivery: { status: 'dead' } })

        // globex was delivered once, on its first attempt, while acme was failing.
        const globex = receiver.received.filter((r) => r.payload.data.invoice_uuid === globexUuid)
        expect(globex).toHaveLength(1)
        await eventually(() => recorded.some((a) => a.webhookId === globex[0]!.webhookId), 20_000, 'globex delivery reported')
        expect(recorded.filter((a) => a.webhookId === globex[0]!.webhookId).map((a) => [a.attempt, a.outcome])).toEqual([[1, 'delivered']])

        // status reads the store files; the death is there once its journal write is durable.
        let status: unknown
        await eventually(async () => {
          status = await statusJson(d.configPath)
          return (status as { deliveries?: { dead?: number } } | undefined)?.deliveries?.dead === 1
        }, 60_000, 'status shows the death')
        expect(status).toMatchObject({ dlq: { size: 1, not_replayed: 1 }, deliveries: { dead: 1 } })

        receiver.setBehaviour('/acme', { kind: 'ok' })
        const dry = await runCli(['dlq', 'replay', '--all', '--dry-run', '--config', d.configPath], { timeoutMs: 60_000 })
        expect(dry.stdout).toContain(`would replay ${letter!.webhook_id}`)
        expect(receiver.received.filter((r) => r.webhookId === letter!.webhook_id)).toHaveLength(4)
        const acmeDelivered = async () => (await d.daemon.metrics.getSingleMetric('settleproof_webhook_deliveries_total')!.get()).values.find((v) => v.labels.merchant === 'acme' && v.labels.outcome === 'delivered')?.value ?? 0
        const acmeDeliveredBefore = await acmeDelivered()
        const replay = await runCli(['dlq', 'replay', '--all', '--config', d.configPath], { timeoutMs: 60_000 })
        expect(replay.stdout).toContain(`replayed ${letter!.webhook_id} (invoice.settled, invoice ${letter!.payload.data.invoice_uuid}, merchant acme): HTTP 200`)
        expect(replay.code).toBe(0)
        const replayed = receiver.delivered('/acme').filter((r) => r.webhookId === letter!.webhook_id)
        expect(replayed).toHaveLength(1)
        expect(replayed[0]!.verified).toBe(true)
        expect(replayed[0]!.payload).toEqual(attempts[0]!.payload)

        // The running daemon picks the replay up from the file: the invoice now reads delivered.
        await eventually(async () => (await acmeInvoice()).delivery.status === 'delivered', 30_000, 'replay recorded')
        // ... and counts it as delivered, no longer dead, wherever deliveries are counted.
        expect((await d.daemon.store.read((r) => r.counts())).outbox).toMatchObject({ dead: 0 })
        expect(await acmeDelivered()).toBe(acmeDeliveredBefore + 1)
        await eventually(async () => (await statusJson(d.configPath) as { deliveries?: { dead?: number } } | undefined)?.deliveries?.dead === 0, 60_000, 'status counts the replay as delivered')
        const lines = (await readFile(d.dlqPath, 'utf8')).trim().split('\n')
        expect(lines.map((line) => JSON.parse(line).kind)).toEqual(['dead_letter', 'replayed'])
        const list = JSON.parse((await runCli(['dlq', 'list', '--json', '--config', d.configPath], { timeoutMs: 60_000 })).stdout)
        expect(list).toHaveLength(1)
        expect(list[0].replayed_at).not.toBeNull()
        // Replaying again sends nothing: it was replayed.
        const again = await runCli(['dlq', 'replay', '--id', letter!.webhook_id, '--config', d.configPath], { timeoutMs: 60_000 })
        expect(again.stdout).toContain('already replayed')
        expect(receiver.received.filter((r) => r.webhookId === letter!.webhook_id)).toHaveLength(5)
      } finally {
        await d.stop()
      }
    })
  }

  // The two below are the outbox's own decisions, whatever store records them: lowdb only.
  it('410 Gone dead-letters at once, without retrying', async () => {
    receiver.setBehaviour('/acme', { kind: 'status', status: 410 })
    const d = await daemonFor('lowdb', { webhooks: { max_attempts: 4, initial_delay_ms: 50, max_delay_ms: 400, timeout_ms: 10_000, concurrency: 8, drain_timeout_ms: 2_000 } })
    try {
      const uuid = await invoiceAndPay(d, 'acme', 6_000_000n)
      await eventually(async () => foldDeadLetters(await readDeadLetterLines(d.dlqPath)).length === 1, 30_000, 'a dead letter')
      expect(receiver.received.filter((r) => r.payload.data.invoice_uuid === uuid)).toHaveLength(1)
      expect(foldDeadLetters(await readDeadLetterLines(d.dlqPath))[0]).toMatchObject({ attempts: 1 })
    } finally {
      await d.stop()
      receiver.setBehaviour('/acme', { kind: 'ok' })
    }
  })

  it('opens the failing merchant\'s breaker: its events queue, one probe per open_ms, and the other merchant is not slowed', { timeout: 240_000 }, async () => {
    receiver.setBehaviour('/acme', { kind: 'status', status: 500 })
    receiver.setBehaviour('/globex', { kind: 'ok' })
    const openMs = 800
    const threshold = 5
    const d = await daemonFor('lowdb', { breaker: { failure_threshold: threshold, success_threshold: 2, open_ms: openMs }, webhooks: { max_attempts: 50, initial_delay_ms: 10, max_delay_ms: 20, timeout_ms: 10_000, concurrency: 8 } })
    const recorded: DeliveryAttempt[] = []
    d.daemon.outbox.onAttempt((a) => recorded.push(a))
    try {
      const acme = [] as string[]
      for (let i = 0; i < 4; i++) acme.push(await invoiceAndPay(d, 'acme', 7_000_000n + BigInt(i)))
      const acmeAttempts = () => recorded.filter((a) => a.merchantId === 'acme')
      // The breaker opened when the worker had decided `threshold` failures; attempts started
      // after that are probes. Times are the worker's own, as it decided them.
      const probes = () => {
        const openedBy = acmeAttempts().map((a) => a.finishedAt).sort((a, b) => a - b)[threshold - 1]
        return openedBy === undefined ? [] : acmeAttempts().filter((a) => a.startedAt > openedBy).sort((a, b) => a.startedAt - b.startedAt)
      }
      await eventually(() => probes().length >= 2, 60_000, 'two probes after the breaker opened')

      const globex = await invoiceAndPay(d, 'globex', 8_000_000n)
      await eventually(() => receiver.delivered('/globex').some((r) => r.payload.data.invoice_uuid === globex), 30_000, 'globex delivered')
      // globex is delivered at its first attempt while acme's breaker is open and its events wait.
      const globexId = receiver.delivered('/globex').find((r) => r.payload.data.invoice_uuid === globex)!.webhookId
      await eventually(() => recorded.some((a) => a.webhookId === globexId), 20_000, 'globex delivery reported')
      expect(recorded.filter((a) => a.webhookId === globexId).map((a) => [a.attempt, a.outcome])).toEqual([[1, 'delivered']])
      expect(acme.some((uuid) => receiver.delivered('/acme').some((r) => r.payload.data.invoice_uuid === uuid))).toBe(false)

      // Five failures open it (attempts already in flight then still land just after); after
      // that, attempts are single probes at least open_ms apart on the worker's clock.
      const seen = probes()
      expect(seen.length).toBeGreaterThanOrEqual(2)
      for (let i = 1; i < seen.length; i++) {
        expect(seen[i]!.startedAt - seen[i - 1]!.startedAt).toBeGreaterThanOrEqual(openMs)
        expect(seen[i]!.startedAt).toBeGreaterThanOrEqual(seen[i - 1]!.finishedAt)
      }
      // Open, or half-open while a probe is out: never closed while the endpoint fails.
      expect(d.daemon.outbox.breakerStates().acme).not.toBe('closed')

      // The endpoint recovers: the next probe succeeds and the queue drains.
      receiver.setBehaviour('/acme', { kind: 'ok' })
      await eventually(() => acme.every((uuid) => receiver.delivered('/acme').some((r) => r.payload.data.invoice_uuid === uuid)), 60_000, 'acme queue drained')
    } finally {
      await d.stop()
      receiver.setBehaviour('/acme', { kind: 'ok' })
    }
  })
})
