import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, EventEmitter, circuitBreaker, handleAll, type CircuitBreakerPolicy, type Event } from 'cockatiel'
import pLimit from 'p-limit'
import type { Config, MerchantConfig } from '../config/schema.ts'
import type { Logger } from '../ops/logger.ts'
import type { Invoice } from '../settlement/invoice.ts'
import { isStoreOutage, OutageBackoff } from '../store/outage-backoff.ts'
import type { Store, StoreTx } from '../store/store.ts'
import { deadLetterFromEntry } from './dead-letter.ts'
import { decideDelivery, type AttemptResult } from './delivery-decision.ts'
import { nextOutboxEntry, type OutboxStep } from './next-outbox-entry.ts'
import type { OutboxEntry } from './outbox-entry.ts'
import { sendWebhook, type SendWebhookParameters } from './webhook-sender.ts'

/** One finished attempt, for metrics and logs. */
export type DeliveryAttempt = {
  merchantId: string
  webhookId: string
  invoiceUuid: string | null
  attempt: number
  outcome: 'delivered' | 'retrying' | 'dead'
  reason: string | null
  durationMs: number
  /** When the attempt started and when its outcome was decided, on the worker's clock (epoch ms). */
  startedAt: number
  finishedAt: number
  /** For a retry: the backoff decided, from `finishedAt` to when the next attempt falls due; otherwise null. */
  retryDelayMs: number | null
}

export type OutboxWorker = {
  /** Starts the loop; settles when `stop()` ends it. */
  start(): Promise<void>
  /**
   * Stops taking new entries and waits up to `drainMs` for attempts in flight. An attempt
   * still running then stays `in_flight` in the store and is sent again on the next start.
   */
  stop(drainMs?: number): Promise<void>
  /** Looks for due entries now (after a settlement committed). */
  wake(): void
  /** Runs one pass (tests): starts every due entry it may and waits for those attempts. */
  drain(): Promise<void>
  readonly onAttempt: Event<DeliveryAttempt>
  /** Per merchant: 'closed' | 'open' | 'half_open'. */
  breakerStates(): Record<string, string>
}

export type CreateOutboxWorkerParameters = {
  config: Config
  store: Store
  logger: Logger
  /** The HTTP attempt; defaults to got. Injected only to observe, never to fake delivery in tests. */
  send?: (parameters: SendWebhookParameters) => Promise<AttemptResult>
  now?: () => number
  random?: () => number
}

const IDLE_POLL_MS = 250
const BATCH = 256

/**
 * Delivers the outbox at least once: due entries are marked `in_flight` (durably) before
 * each attempt, sent under a global `p-limit(webhooks.concurrency)` bound and the merchant's
 * own breaker, then marked delivered, retrying (with full-jitter backoff) or dead (after one
 * JSON line in the DLQ file). A merchant whose breaker is open keeps its entries queued and
 * gets one probe per `breaker.open_ms`; other merchants are not slowed. An attempt the
 * breaker refuses is not an attempt: the entry goes back to waiting, uncounted. The next
 * state of an entry is decided by `nextOutboxEntry`; this closure only orchestrates.
 */
export function createOutboxWorker(parameters: CreateOutboxWorkerParameters): OutboxWorker {
  const { config, store } = parameters
  const logger = parameters.logger.child({ component: 'outbox' })
  const send = parameters.send ?? sendWebhook
  const now = parameters.now ?? Date.now
  const random = parameters.random ?? Math.random
  const limit = pLimit(config.webhooks.concurrency)
  const attempts = new EventEmitter<DeliveryAttempt>()
  const merchants = new Map<string, MerchantConfig>(config.merchants.map((m) => [m.id, m]))
  const breakers = new Map<string, { policy: CircuitBreakerPolicy; openedAt: number }>()
  /** Attempts under way, by webhook id (unique across merchants). */
  const sending = new Map<string, { merchantId: string; task: Promise<void> }>()
  const schedule = { maxAttempts: config.webhooks.max_attempts, initialDelayMs: config.webhooks.initial_delay_ms, maxDelayMs: config.webhooks.max_delay_ms }
  let running = false
  let loop: Promise<void> | null = null
  let wake: (() => void) | null = null
  let queue: OutboxEntry[] = []
  let refill = true
  /** The pass under way (settled once it has chosen and started its attempts). */
  let passing: Promise<void> = Promise.resolve()
  const timers = new Set<NodeJS.Timeout>()

  function breakerOf(merchantId: string) {
    let breaker = breakers.get(merchantId)
    if (breaker === undefined) {
      const policy = circuitBreaker(handleAll, { breaker: new ConsecutiveBreaker(config.breaker.failure_threshold), halfOpenAfter: config.breaker.open_ms })
      const created = { policy, openedAt: 0 }
      policy.onBreak(() => {
        created.openedAt = now()
        logger.warn({ merchant: merchantId, open_ms: config.breaker.open_ms }, 'merchant endpoint failing: breaker open, its events queue and one probe goes out per open_ms')
      })
      policy.onReset(() => logger.info({ merchant: merchantId }, 'merchant endpoint recovered: breaker closed'))
      breakers.set(merchantId, (breaker = created))
    }
    return breaker
  }

  /** Whether an attempt for this merchant may start now: closed, or open long enough for its single probe. */
  function mayAttempt(merchantId: string): boolean {
    const breaker = breakerOf(merchantId)
    if (breaker.policy.state === CircuitState.Closed) return true
    if (breaker.policy.state === CircuitState.HalfOpen) return false
    return now() - breaker.openedAt >= config.breaker.open_ms && ![...sending.values()].some((attempt) => attempt.merchantId === merchantId)
  }

  /** Mirrors an entry's state on its invoice (what `GET /v1/invoices/:uuid` shows of the notification). */
  async function invoiceDelivery(tx: StoreTx, entry: OutboxEntry, at: string): Promise<void> {
    if (entry.invoiceUuid === null) return
    const invoice: Invoice | undefined = await tx.getInvoice(entry.invoiceUuid)
    if (invoice?.delivery?.webhookId !== entry.webhookId) return
    tx.putInvoice({ ...invoice, delivery: { webhookId: entry.webhookId, status: entry.state, attempts: entry.attempts, lastError: entry.lastError, updatedAt: at } })
  }

  /**
   * Sends one attempt of an entry recorded as in flight (`entry`), then records what it came
   * to. `waiting` is the entry as it was before it was marked: what is put back, unchanged
   * but for when it is due, when the merchant's breaker refuses the attempt.
   */
  async function attempt(waiting: OutboxEntry, entry: OutboxEntry, startedAt: Date): Promise<void> {
    const merchant = merchants.get(entry.merchantId)
    const started = performance.now()
    let result: AttemptResult | 'refused'
    if (merchant === undefined) result = { error: `merchant ${entry.merchantId} is no longer configured` }
    else {
      try {
        result = await breakerOf(merchant.id).policy.execute(async () => {
          const answer = await send({ url: merchant.webhook_url, secrets: merchant.webhook_secret, webhookId: entry.webhookId, payload: entry.payload, timeoutMs: config.webhooks.timeout_ms, at: startedAt })
          // The breaker tracks the endpoint's health: no answer, 5xx, 408 and 429 count; a 4xx
          // like 410 is a definite answer about one event from an endpoint that is up.
          if ('error' in answer || answer.status >= 500 || answer.status === 408 || answer.status === 429) throw Object.assign(new Error('endpoint unhealthy'), { answer })
          return answer
        })
      } catch (error) {
        // The breaker opened between choosing the entry and sending it: nothing was sent.
        if (error instanceof BrokenCircuitError) result = 'refused'
        else result = (error as { answer?: AttemptResult }).answer ?? { error: 'attempt failed' }
      }
    }
    const nowMs = now()
    const doneAt = new Date(nowMs).toISOString()
    const step: OutboxStep = result === 'refused' ? { kind: 'refused', probeAt: breakerOf(entry.merchantId).openedAt + config.breaker.open_ms } : decideDelivery(result, entry.attempts, schedule, nowMs, random)
    const next = nextOutboxEntry(step.kind === 'refused' ? waiting : entry, step, nowMs)
    if (next.state === 'dead') {
      // The dead letter is durable before the entry leaves the outbox: a crash between the two
      // sends it again and records it a second time with the same webhook id, never not at all.
      await store.deadLetters.append([deadLetterFromEntry(next, merchant?.webhook_url ?? '', doneAt)])
    }
    if (next.state === 'retrying' || step.kind === 'refused') wakeAt(next.nextAttemptAt - nowMs)
    await store.transact(async (tx) => {
      tx.putOutboxEntry(next)
      await invoiceDelivery(tx, next, doneAt)
    })
    const fields = { merchant: entry.merchantId, webhook_id: entry.webhookId, invoice_uuid: entry.invoiceUuid, tx_hash: entry.payload.data.tx_hash, block: entry.payload.data.block_number, attempt: entry.attempts, type: entry.payload.type }
    if (step.kind === 'refused') {
      logger.debug({ ...fields, attempt: waiting.attempts, probe_in_ms: next.nextAttemptAt - nowMs }, 'webhook held: the merchant breaker opened before it was sent (not counted as an attempt)')
      return
    }
    const outcome = next.state === 'delivered' ? 'delivered' : next.state === 'dead' ? 'dead' : 'retrying'
    if (outcome === 'delivered') logger.info(fields, 'webhook delivered')
    else if (outcome === 'dead') logger.error({ ...fields, reason: next.lastError, dlq: true }, 'webhook dead-lettered')
    else logger.warn({ ...fields, reason: next.lastError, retry_in_ms: next.nextAttemptAt - nowMs }, 'webhook attempt failed: will retry')
    attempts.emit({
      merchantId: entry.merchantId,
      webhookId: entry.webhookId,
      invoiceUuid: entry.invoiceUuid,
      attempt: entry.attempts,
      outcome,
      reason: next.lastError,
      durationMs: performance.now() - started,
      startedAt: startedAt.getTime(),
      finishedAt: nowMs,
      retryDelayMs: step.kind === 'retry' ? step.delayMs : null,
    })
  }

  /** Wakes the loop when a retry falls due, so a retry is not late by up to a poll interval. */
  function wakeAt(delayMs: number) {
    if (!running) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      refill = true
      wake?.()
    }, delayMs + 1)
    timers.add(timer)
  }

  /** Merchants whose entries must wait: breaker open and not yet due a probe, or a probe in flight. */
  function blockedMerchants(): Set<string> {
    const blocked = new Set<string>()
    for (const merchantId of breakers.keys()) if (!mayAttempt(merchantId)) blocked.add(merchantId)
    return blocked
  }

  /**
   * Chooses what may start now. Due entries are fetched in batches into `queue`, so a
   * completion does not rescan the outbox; they are re-read (one batch read for as many as
   * may start) before they are sent, since the batch may be stale.
   */
  async function choose(): Promise<OutboxEntry[]> {
    const chosen: OutboxEntry[] = []
    // A refill within this pass sees the entries chosen so far as still queued: skip them.
    const chosenIds = new Set<string>()
    const probing = new Set<string>()
    let refilled = false
    for (;;) {
      const room = config.webhooks.concurrency - sending.size - chosen.length
      if (room <= 0) break
      // One refill a pass: a second would return the entries this pass already chose.
      if (queue.length === 0 && refill && !refilled) {
        refill = false
        refilled = true
        queue = await store.read((r) => r.dueOutboxEntries(now(), BATCH, blockedMerchants()))
        if (queue.length === BATCH) refill = true
      }
      if (queue.length === 0) break
      const candidates = queue.splice(0, room)
      const current = await store.read((r) => r.getOutboxEntries(candidates.map((candidate) => candidate.webhookId)))
      for (const candidate of candidates) {
        const entry = current.get(candidate.webhookId)
        if (entry === undefined || entry.state === 'delivered' || entry.state === 'dead' || entry.nextAttemptAt > now() || sending.has(entry.webhookId) || chosenIds.has(entry.webhookId)) continue
        if (probing.has(entry.merchantId) || !mayAttempt(entry.merchantId)) continue
        if (breakerOf(entry.merchantId).policy.state !== CircuitState.Closed) probing.add(entry.merchantId)
        chosen.push(entry)
        chosenIds.add(entry.webhookId)
      }
    }
    return chosen
  }

  /**
   * Starts what may start now; returns the attempts it started. Passes run one at a time (a
   * pass awaits its reads), so two never choose the same entry.
   */
  function pass(): Promise<Promise<void>[]> {
    const started = passing.then(async () => {
      const chosen = await choose()
      if (chosen.length === 0) return []
      // One transaction marks the whole batch in flight (durably) before any of it is sent.
      const startedAt = new Date(now())
      const inFlight = chosen.map((entry) => nextOutboxEntry(entry, { kind: 'start' }, startedAt.getTime()))
      const marked = store.transact(async (tx) => {
        for (const entry of inFlight) tx.putOutboxEntry(entry)
        await Promise.all(inFlight.map((entry) => invoiceDelivery(tx, entry, startedAt.toISOString())))
      })
      marked.catch(() => undefined) // each attempt awaits it and handles its failure; never an unhandled rejection meanwhile
      return inFlight.map((entry, i) => {
        let sent = false
        const task = limit(async () => {
          await marked
          sent = true
          await attempt(chosen[i]!, entry, startedAt)
        })
          .catch((error: unknown) => {
            const fields = { merchant: entry.merchantId, webhook_id: entry.webhookId, invoice_uuid: entry.invoiceUuid, attempt: entry.attempts }
            // The store out of reach: the entry stays as the store last recorded it (waiting, or
            // in flight), so it is due again and sent, with the same webhook-id, once the store is
            // back: at least once, never lost (SPEC §9).
            if (isStoreOutage(error)) logger.warn({ ...fields, reason: error.message }, sent ? 'the store is unavailable: the outcome of this attempt was not recorded, the event is sent again once it is back' : 'the store is unavailable: the attempt was not started, it is sent once the store is back')
            // Any other store failure is fatal for the daemon; the store itself reports it (`failed`).
            else logger.error({ ...fields, err: error }, 'delivery bookkeeping failed')
          })
          .finally(() => {
            sending.delete(entry.webhookId)
            if (queue.length === 0) refill = true
            wake?.()
          })
        sending.set(entry.webhookId, { merchantId: entry.merchantId, task })
        return task
      })
    })
    passing = started.then(
      () => undefined,
      () => undefined,
    )
    return started
  }

  async function run() {
    const outage = new OutageBackoff()
    while (running) {
      refill ||= queue.length === 0
      let pauseMs = IDLE_POLL_MS
      try {
        await pass()
        outage.reset()
      } catch (error) {
        // A database out of reach is waited out with the store's backoff (SPEC §9); any other failure of the store ends the loop, as it ends the daemon.
        if (!isStoreOutage(error)) throw error
        pauseMs = outage.next()
        refill = true
        logger.warn({ reason: error.message, retry_in_ms: pauseMs }, 'the store is unavailable: delivery waits for it')
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pauseMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = null
    }
  }

  return {
    onAttempt: attempts.addListener,
    start() {
      if (loop) return loop
      running = true
      loop = run().finally(() => {
        loop = null
      })
      return loop
    },
    async stop(drainMs = 10_000) {
      running = false
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      wake?.()
      await loop
      const pending = [...sending.values()].map((attempt) => attempt.task)
      if (pending.length === 0) return
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled(pending), new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))])
      clearTimeout(timer)
      if (sending.size > 0) logger.warn({ in_flight: sending.size }, 'drain timeout: attempts still in flight stay queued and are sent again on the next start')
    },
    wake() {
      refill = true
      wake?.()
    },
    async drain() {
      refill = true
      queue = []
      await Promise.allSettled(await pass())
    },
    breakerStates() {
      const names: Record<number, string> = { [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half_open', [CircuitState.Isolated]: 'isolated' }
      return Object.fromEntries([...breakers].map(([id, b]) => [id, names[b.policy.state] ?? 'closed']))
    },
  }
}
