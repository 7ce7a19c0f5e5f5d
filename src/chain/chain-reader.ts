import type { Address, Hex } from 'viem'
import { EventEmitter, type Event } from 'cockatiel'
import type { Config } from '../config/schema.ts'
import type { Logger } from '../ops/logger.ts'
import { StoreChainMismatchError } from '../store/errors.ts'
import { isStoreOutage, OutageBackoff } from '../store/outage-backoff.ts'
import type { Store, StoreTx } from '../store/store.ts'
import { initialChainState, type BlockRef, type ChainState } from './chain-state.ts'
import { ProviderError } from './errors.ts'
import { decodeTransfer, logFingerprint, type AcceptedLog } from './log.ts'
import { agree, agreeOnRange, rangeFingerprint, type RangeObservation } from './quorum.ts'
import { decideQuorumHead, nextRange, safeHead, type BlockRange, type PendingProvider, type QuorumHeadDecision } from './quorum-head.ts'
import { createProviderSpans } from './provider-span.ts'
import { findForkPoint, removedLogs } from './reorg.ts'
import { ReorgTooDeepError } from './errors.ts'
import type { ProviderStatus, RpcProvider } from './rpc-provider.ts'

/**
 * What the reader hands on, in chain order, inside the store transaction that moves the
 * checkpoint (so a consumer's writes and the checkpoint persist together or not at all):
 * - `logs`: the logs a quorum accepted in `[fromBlock, toBlock]` (possibly none);
 * - `reorg`: a reorg below the checkpoint was re-read up to the old checkpoint; `removed`
 *   are the logs accepted before it that the canonical chain no longer holds.
 */
export type ChainEvent =
  | { type: 'logs'; fromBlock: number; toBlock: number; logs: AcceptedLog[]; /** quorum head when accepted */ head: number }
  | { type: 'reorg'; forkBlock: number; removed: AcceptedLog[] }

/**
 * The seam the settlement layer builds on. It runs inside the transaction (it may await the
 * transaction's reads); throwing aborts the transaction, leaves the checkpoint where it was,
 * and stops the reader (a bug in a consumer must not skip blocks). The transaction may run
 * more than once (`Store.transact`), so the handler changes nothing but `tx`: what should
 * happen once the transaction is durable (logging, metrics, waking the outbox) it returns as
 * a function, and only the run that committed has its function called.
 */
export type ChainEventHandler = (event: ChainEvent, tx: StoreTx) => Promise<void | (() => void)> | void | (() => void)

/** How one round ended. */
export type RoundOutcome =
  | { kind: 'advanced'; fromBlock: number; toBlock: number; accepted: number; caughtUp: boolean }
  | { kind: 'idle'; checkpoint: number; safeHead: number }
  | { kind: 'no_quorum'; stage: 'head' | 'range' | 'reorg'; reason: string }
  | { kind: 'reorg'; forkBlock: number; previousCheckpoint: number }
  /** The store could not be reached: nothing was committed that the reader knows of; the range is read again once it is back. */
  | { kind: 'store_unavailable'; reason: string }

/** A provider whose answer for a range differed from the quorum's, or who was refused. */
export type Disagreement = { provider: string; fromBlock: number; toBlock: number; reason: 'different_answer' | 'refused' }

export type ReaderStatus = {
  checkpoint: number
  head: number | null
  safeHead: number | null
  lag: number | null
  /** The span of the next range: `chain.max_block_range` unless every provider refused it (a narrower provider gets pieces). */
  maxBlockRange: number
  /** Each provider's own eth_getLogs span (narrowed by its "too large" answers, growing back). */
  providerSpans: Record<string, number>
  /** Epoch ms when the last round ended (whatever its outcome); null before the first. */
  lastRoundAt: number | null
  /** Each provider's breaker and refusal, and the head its last probe reported (late answers included; null if that probe failed). */
  providers: (ProviderStatus & { head: number | null })[]
}

export type ChainReader = {
  /** Runs one round. The loop calls it; tests call it to step the reader deterministically. */
  runRound(): Promise<RoundOutcome>
  /** Starts the polling loop. The promise settles when `stop()` ends it, or rejects on a fatal error. */
  start(): Promise<void>
  /** Ends the loop after the round in progress. */
  stop(): Promise<void>
  status(): ReaderStatus
  readonly onRound: Event<RoundOutcome>
  readonly onDisagreement: Event<Disagreement>
}

export type CreateChainReaderParameters = {
  config: Config
  providers: readonly RpcProvider[]
  store: Store
  handler: ChainEventHandler
  logger: Logger
}

/**
 * Creates the quorum reader of SPEC §5. Each round: every provider's head and chain id, until
 * the quorum head is decided; the safe head; the next range, read from every provider that
 * has reached its end, in parallel; the checkpoint's hash re-verified in the same calls; and
 * the range accepted only if `quorum` providers agree on all of it.
 *
 * It reads its position from the store once, here, and from then on keeps the state it last
 * committed (it is the only writer of the chain state), so `status()` never touches the store;
 * only after the store went away mid-round does it read its position again. A store out of
 * reach is never fatal here: the round ends `store_unavailable` and the loop tries again with
 * the store's backoff (`OutageBackoff`).
 * @throws {StoreChainMismatchError} the store was written for another chain.
 */
export async function createChainReader(parameters: CreateChainReaderParameters): Promise<ChainReader> {
  const { config, providers, store, handler } = parameters
  const logger = parameters.logger.child({ component: 'reader' })
  const { quorum } = config
  const tokens = unique(config.merchants.flatMap((m) => m.tokens))
  const recipients = unique(config.merchants.flatMap((m) => m.receive_addresses))
  const rounds = new EventEmitter<RoundOutcome>()
  const disagreements = new EventEmitter<Disagreement>()
  /** Each provider's head probe in flight, and the round that started it: a provider is asked again only once it answered. */
  const probes = new Map<string, { answer: Promise<number>; round: number }>()
  /** What each provider's last probe gave, late answers included: its head, or `failed`. */
  const lastProbes = new Map<string, number | 'failed'>()
  let probeRound = 0
  let lastRoundAt: number | null = null
  /** Each provider's eth_getLogs span: a provider that refuses a range reads it in pieces; the others read it whole. */
  const spans = createProviderSpans({
    providers: providers.map((p) => p.name),
    maxBlockRange: config.chain.max_block_range,
    onNarrowed: ({ provider, refused, span }) =>
      logger.info({ provider, block: refused.fromBlock, to_block: refused.toBlock, max_block_range: span }, 'provider refused the range as too large: it reads narrower pieces'),
  })
  let head: number | null = null
  let safe: number | null = null
  let running = false
  let wake: (() => void) | null = null
  let loop: Promise<void> | null = null
  let inRound: Promise<RoundOutcome> | null = null

  /** The position as the store holds it. */
  async function loadState(): Promise<ChainState> {
    const stored = await store.read((reader) => reader.getChainState())
    if (stored !== null && stored.chainId !== config.chain.id) throw new StoreChainMismatchError(store.location, stored.chainId, config.chain.id)
    return stored ?? initialChainState(config.chain.id, config.chain.start_block)
  }
  /** The chain state as last loaded or committed: what the next round starts from. */
  let state: ChainState = await loadState()
  /**
   * Set when the store went away during a round: a transaction whose commit was cut may have
   * committed or not, so `state` may be behind the store. The next round loads the position
   * again before reading, and reads from whatever the store holds (SPEC §9: what was not
   * committed is read again, what was is not handed on twice).
   */
  let stale = false

  /**
   * Asks a provider its chain id and its head at once: the chain id is confirmed with every
   * head, so a provider switched to another chain is refused in the round it switched, before
   * its head or its answers can count. (Two parallel calls rather than a JSON-RPC batch: each
   * runs under the provider's policy and is classified on its own, and some providers refuse
   * batches; the round waits for the slower of the two, not their sum.) While a probe is in
   * flight, a new round reuses it instead of piling another on a hung provider.
   */
  function probe(provider: RpcProvider): { answer: Promise<number>; round: number } {
    const inFlight = probes.get(provider.name)
    if (inFlight) return inFlight
    const calls = [provider.confirmChainId(), provider.getBlockNumber()] as const
    const started = { answer: Promise.all(calls).then(([, blockNumber]) => blockNumber), round: probeRound }
    probes.set(provider.name, started)
    started.answer.then(
      (blockNumber) => lastProbes.set(provider.name, blockNumber),
      (error: unknown) => {
        lastProbes.set(provider.name, 'failed')
        logFailure(provider.name, error)
      },
    )
    void Promise.allSettled(calls).then(() => probes.delete(provider.name))
    return started
  }

  /** Where a provider that has not answered in this round stands, for the head decision. */
  function pendingProvider(provider: RpcProvider): PendingProvider {
    if ((probes.get(provider.name)?.round ?? probeRound) < probeRound) return 'unresponsive'
    const last = lastProbes.get(provider.name)
    return last === undefined ? 'new' : last === 'failed' ? 'unresponsive' : 'answering'
  }

  /**
   * Probes every provider and returns once the quorum head is decided (`decideQuorumHead`): a
   * provider that hangs holds up no round, and its head still counts if it answers. Only
   * providers not refused count toward the quorum head. `heads` holds every head answered by
   * then, including those of providers refused for a range method: they are asked for the
   * range, so that a good answer can clear the refusal (`observeRange` counts an answer only
   * from a provider no longer refused).
   */
  function observeHeads(): Promise<{ decision: QuorumHeadDecision; counted: number; heads: Map<string, number> }> {
    probeRound++
    const heads = new Map<string, number>()
    const pending = new Set(providers)
    return new Promise((resolve) => {
      const decide = () => {
        const answered = providers.filter((p) => heads.has(p.name) && p.status().refused === null).map((p) => heads.get(p.name)!)
        const decision = decideQuorumHead({ answered, pending: [...pending].map(pendingProvider), quorum })
        if (decision.kind !== 'wait') resolve({ decision, counted: answered.length, heads: new Map(heads) })
      }
      for (const provider of providers) {
        probe(provider)
          .answer.then(
            (blockNumber) => void heads.set(provider.name, blockNumber),
            () => undefined,
          )
          .finally(() => {
            pending.delete(provider)
            decide()
          })
      }
      decide()
    })
  }

  function logFailure(provider: string, error: unknown) {
    const circuitOpen = error instanceof ProviderError && error.kind === 'circuit_open'
    // A provider whose breaker is open fails every call by design; its transitions are logged instead.
    if (!circuitOpen) logger.warn({ provider, err: error }, 'provider call failed')
  }

  async function observeRange(provider: RpcProvider, range: BlockRange | undefined, verify: number | undefined): Promise<RangeObservation> {
    const [checkpointHash, logs, endHash] = await Promise.all([
      verify === undefined ? undefined : provider.getBlockHash(verify),
      range === undefined ? [] : spans.getTransferLogs(provider, { tokens, recipients, fromBlock: range.fromBlock, toBlock: range.toBlock }),
      range === undefined ? undefined : provider.getBlockHash(range.toBlock),
    ])
    // A provider still refused (a method it was refused on not answered well since) does not count.
    const refused = provider.status().refused
    if (refused !== null) throw new ProviderError(provider.name, range === undefined ? 'eth_getBlockByNumber' : 'eth_getLogs', 'refused', `still refused: ${refused}`)
    return { logs, checkpointHash, endHash }
  }

  type RangeResult = { provider: string; ok: true; observation: RangeObservation } | { provider: string; ok: false; error: unknown }

  /**
   * Asks every eligible provider for the range at once and returns as soon as the outcome is
   * fixed: when `quorum` is a strict majority of those asked, the first `quorum` identical
   * answers decide and nobody waits for the slowest provider (or its timeout). Answers that
   * arrive later are still compared, so a late liar is still counted as disagreeing.
   */
  async function collectRangeAnswers(eligible: readonly RpcProvider[], range: BlockRange | undefined, verify: number | undefined): Promise<RangeResult[]> {
    const results: RangeResult[] = []
    const majority = 2 * quorum > eligible.length
    let decided: string | undefined
    const span = range ?? { fromBlock: verify ?? 0, toBlock: verify ?? 0 }
    await new Promise<void>((resolve) => {
      let remaining = eligible.length
      if (remaining === 0) return resolve()
      for (const provider of eligible) {
        observeRange(provider, range, verify).then(
          (observation) => settle({ provider: provider.name, ok: true, observation }),
          (error: unknown) => settle({ provider: provider.name, ok: false, error }),
        )
      }
      function settle(result: RangeResult) {
        remaining--
        if (decided !== undefined) return lateAnswer(result, decided, range, span)
        results.push(result)
        if (remaining === 0) return resolve()
        if (!majority) return
        const answers = results.flatMap((r) => (r.ok ? [{ provider: r.provider, value: r.observation, fingerprint: rangeFingerprint(r.observation) }] : []))
        const agreement = agree(answers, quorum)
        if (agreement.agreed) {
          decided = rangeFingerprint(agreement.value)
          resolve()
        }
      }
    })
    return results
  }

  /** Logs a provider's failed range answer; a refusal of an asked range counts as disagreeing. Returns the failure's kind. */
  function failedAnswer(result: Extract<RangeResult, { ok: false }>, range: BlockRange | undefined): ProviderError['kind'] | undefined {
    logFailure(result.provider, result.error)
    const kind = result.error instanceof ProviderError ? result.error.kind : undefined
    if (kind === 'refused' && range !== undefined) disagreements.emit({ provider: result.provider, ...range, reason: 'refused' })
    return kind
  }

  function lateAnswer(result: RangeResult, agreed: string, range: BlockRange | undefined, span: BlockRange) {
    if (!result.ok) failedAnswer(result, range)
    else if (rangeFingerprint(result.observation) !== agreed) {
      logger.warn({ provider: result.provider, block: span.fromBlock, to_block: span.toBlock }, 'provider disagreed with the quorum (answered after it): its answer was ignored')
      disagreements.emit({ provider: result.provider, ...span, reason: 'different_answer' })
    }
  }

  async function agreedHash(block: number, heads: ReadonlyMap<string, number>): Promise<Hex | undefined> {
    const eligible = providers.filter((p) => (heads.get(p.name) ?? -1) >= block && p.status().refused === null)
    const results = await Promise.allSettled(eligible.map((p) => p.getBlockHash(block)))
    const answers = results.flatMap((result, i) => (result.status === 'fulfilled' ? [{ provider: eligible[i]!.name, value: result.value, fingerprint: result.value }] : []))
    const agreement = agree(answers, quorum)
    return agreement.agreed ? agreement.value : undefined
  }

  /**
   * The highest block final by the reorg window: `reorg_window` below the highest block read
   * (the checkpoint, or the one a pending reorg is re-reading up to), never below the block
   * before `start_block`. `advance` keeps block hashes and accepted logs down to here and
   * compaction keeps processed transfers down to here, so a rollback to it re-reads only what
   * settlement can recognise as already handled.
   */
  function finalFloor(state: ChainState): number {
    const highestRead = Math.max(state.checkpoint, state.pendingReorg?.untilBlock ?? state.checkpoint)
    return Math.max(highestRead - config.chain.reorg_window, config.chain.start_block - 1)
  }

  async function rollBack(heads: ReadonlyMap<string, number>): Promise<RoundOutcome> {
    const canonical = new Map<number, Hex>()
    const floor = finalFloor(state)
    for (;;) {
      const search = findForkPoint(state.blocks, canonical, floor)
      if (search.kind === 'too_deep') throw new ReorgTooDeepError(search.changedBlock, state.checkpoint, config.chain.reorg_window)
      if (search.kind === 'fork') {
        const forkBlock = search.forkBlock
        const previous = state
        state = await store.transact(async (tx) => {
          const current = (await tx.getChainState()) ?? previous
          const pending = current.pendingReorg
          const orphaned = current.recentLogs.filter((log) => log.blockNumber > forkBlock)
          const rolledBack: ChainState = {
            ...current,
            checkpoint: forkBlock,
            blocks: current.blocks.filter((b) => b.number <= forkBlock),
            recentLogs: current.recentLogs.filter((log) => log.blockNumber <= forkBlock),
            pendingReorg: {
              forkBlock: Math.min(forkBlock, pending?.forkBlock ?? forkBlock),
              untilBlock: Math.max(current.checkpoint, pending?.untilBlock ?? 0),
              candidates: [...(pending?.candidates ?? []), ...orphaned],
            },
          }
          tx.putChainState(rolledBack)
          return rolledBack
        })
        logger.warn({ block: forkBlock, previous_checkpoint: previous.checkpoint }, 'reorg below the checkpoint: rolled back to the fork point, re-reading')
        return { kind: 'reorg', forkBlock, previousCheckpoint: previous.checkpoint }
      }
      const hashes = await Promise.all(search.next.map((block) => agreedHash(block, heads)))
      for (const [i, block] of search.next.entries()) {
        const hash = hashes[i]
        if (hash === undefined) return { kind: 'no_quorum', stage: 'reorg', reason: `no quorum on the hash of block ${block}` }
        canonical.set(block, hash)
      }
    }
  }

  function accept(observation: RangeObservation, witnesses: string[][], answers: readonly { provider: string; observation: RangeObservation }[]): AcceptedLog[] {
    const accepted: AcceptedLog[] = []
    const byFingerprint = answers.map((a) => ({ provider: a.provider, logs: new Map(a.observation.logs.map((l) => [logFingerprint(l), l])) }))
    observation.logs.forEach((agreed, i) => {
      // The block time is kept only when every witness reported the same one.
      const fingerprint = logFingerprint(agreed)
      const times = new Set(byFingerprint.filter((a) => witnesses[i]!.includes(a.provider)).map((a) => a.logs.get(fingerprint)?.blockTimestamp))
      const { blockTimestamp, ...rest } = agreed
      const log = times.size === 1 && blockTimestamp !== undefined ? agreed : rest
      const transfer = decodeTransfer(log)
      if (transfer === undefined) {
        logger.warn({ tx_hash: log.txHash, block: log.blockNumber, log_index: log.logIndex }, 'agreed log is not an ERC-20 Transfer: ignored')
        return
      }
      accepted.push({ ...log, ...transfer, providers: providers.map((p) => p.name).filter((name) => witnesses[i]!.includes(name)) })
    })
    return accepted.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex)
  }

  /**
   * One transaction's work for an accepted range: the handler's changes and the new chain
   * state. It may run more than once, so it returns what to do after the commit (the
   * handlers' functions, in order) with the state it put, and keeps nothing outside `tx`.
   */
  async function advance(tx: StoreTx, range: BlockRange, endHash: Hex, logs: AcceptedLog[]): Promise<{ state: ChainState; afterCommit: (() => void)[] }> {
    const afterCommit: (() => void)[] = []
    const current = (await tx.getChainState()) ?? initialChainState(config.chain.id, config.chain.start_block)
    const floor = range.toBlock - config.chain.reorg_window
    const blocks = new Map<number, Hex>(current.blocks.map((b) => [b.number, b.hash]))
    blocks.set(range.toBlock, endHash)
    for (const log of logs) blocks.set(log.blockNumber, log.blockHash)
    const recentLogs = [...current.recentLogs, ...logs]
    const onLogs = await handler({ type: 'logs', fromBlock: range.fromBlock, toBlock: range.toBlock, logs, head: head ?? range.toBlock }, tx)
    if (onLogs) afterCommit.push(onLogs)
    let pendingReorg = current.pendingReorg
    if (pendingReorg !== null && range.toBlock >= pendingReorg.untilBlock) {
      const forkBlock = pendingReorg.forkBlock
      const removed = removedLogs(pendingReorg.candidates, recentLogs.filter((log) => log.blockNumber > forkBlock))
      const onReorg = await handler({ type: 'reorg', forkBlock, removed }, tx)
      if (onReorg) afterCommit.push(onReorg)
      if (removed.length > 0) afterCommit.push(() => logger.warn({ block: forkBlock, removed: removed.map((log) => ({ tx_hash: log.txHash, block: log.blockNumber })) }, 'reorg removed accepted logs'))
      pendingReorg = null
    }
    const next: ChainState = {
      ...current,
      checkpoint: range.toBlock,
      blocks: [...blocks].filter(([number]) => number >= floor).sort((a, b) => a[0] - b[0]).map(([number, hash]): BlockRef => ({ number, hash })),
      recentLogs: recentLogs.filter((log) => log.blockNumber >= floor),
      pendingReorg,
    }
    tx.putChainState(next)
    return { state: next, afterCommit }
  }

  async function round(): Promise<RoundOutcome> {
    if (stale) {
      state = await loadState()
      stale = false
    }
    const { decision, counted, heads } = await observeHeads()
    if (decision.kind !== 'decided') return { kind: 'no_quorum', stage: 'head', reason: `${counted} of ${providers.length} providers answered and are not refused, ${quorum} needed` }
    const agreedHead = decision.head
    head = agreedHead
    safe = safeHead(agreedHead, config.chain.confirmations)

    const range = nextRange(state.checkpoint, safe, spans.rangeSpan())
    const storedHash = state.blocks.find((b) => b.number === state.checkpoint)?.hash
    const verify = storedHash === undefined ? undefined : state.checkpoint
    if (range === undefined && verify === undefined) return { kind: 'idle', checkpoint: state.checkpoint, safeHead: safe }

    const needed = range?.toBlock ?? state.checkpoint
    const eligible = providers.filter((p) => (heads.get(p.name) ?? -1) >= needed)
    const settled = await collectRangeAnswers(eligible, range, verify)
    const answers: { provider: string; observation: RangeObservation }[] = []
    for (const result of settled) {
      if (result.ok) answers.push({ provider: result.provider, observation: result.observation })
      else failedAnswer(result, range)
    }

    const agreement = agreeOnRange(answers, quorum)
    const span = range ?? { fromBlock: state.checkpoint, toBlock: state.checkpoint }
    if (!agreement.agreed) {
      // Without a majority nobody can tell who is wrong: only a minority against a larger group is blamed.
      const [largest, runnerUp] = agreement.groups
      if (largest !== undefined && runnerUp !== undefined && largest.providers.length > runnerUp.providers.length) {
        for (const group of agreement.groups.slice(1)) for (const provider of group.providers) disagreements.emit({ provider, ...span, reason: 'different_answer' })
      }
      if (agreement.groups.length > 1) logger.warn({ block: span.fromBlock, to_block: span.toBlock, answers: agreement.groups.map((g) => g.providers) }, 'providers disagree and no quorum agrees: reading the range again next round')
      return { kind: 'no_quorum', stage: 'range', reason: `${answers.length} of ${eligible.length} providers answered ${span.fromBlock}-${span.toBlock}; no ${quorum} agreed` }
    }
    for (const provider of agreement.dissenters) {
      logger.warn({ provider, block: span.fromBlock, to_block: span.toBlock }, 'provider disagreed with the quorum: its answer was ignored')
      disagreements.emit({ provider, ...span, reason: 'different_answer' })
    }
    if (verify !== undefined && agreement.observation.checkpointHash !== storedHash) return rollBack(heads)
    if (range === undefined || agreement.observation.endHash === undefined) return { kind: 'idle', checkpoint: state.checkpoint, safeHead: safe }

    const logs = accept(agreement.observation, agreement.witnesses, answers)
    const endHash = agreement.observation.endHash
    const committed = await store.transact((tx) => advance(tx, range, endHash, logs))
    state = committed.state
    for (const fn of committed.afterCommit) fn()
    for (const log of logs) {
      logger.info({ tx_hash: log.txHash, block: log.blockNumber, log_index: log.logIndex, token: log.address, to: log.to, value: log.value, providers: log.providers }, 'transfer accepted by quorum')
    }
    return { kind: 'advanced', fromBlock: range.fromBlock, toBlock: range.toBlock, accepted: logs.length, caughtUp: range.toBlock >= safe }
  }

  async function runRound(): Promise<RoundOutcome> {
    // Rounds never overlap: a caller arriving mid-round waits for that round and runs its own.
    while (inRound) await inRound.catch(() => undefined)
    // A store out of reach ends the round, not the reader: the loop waits and tries again.
    inRound = round().catch((error: unknown): RoundOutcome => {
      if (!isStoreOutage(error)) throw error
      stale = true
      return { kind: 'store_unavailable', reason: error.message }
    })
    try {
      const outcome = await inRound
      lastRoundAt = Date.now()
      rounds.emit(outcome)
      return outcome
    } finally {
      inRound = null
    }
  }

  /** Waits `ms`, or until `stop()`. */
  async function pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    wake = null
  }

  async function run(): Promise<void> {
    const outage = new OutageBackoff()
    while (running) {
      const outcome = await runRound()
      if (outcome.kind === 'store_unavailable') {
        const retryInMs = outage.next()
        logger.warn({ reason: outcome.reason, retry_in_ms: retryInMs }, 'the store is unavailable: the range is read again once it is back')
        if (running) await pause(retryInMs)
        continue
      }
      outage.reset()
      const again = (outcome.kind === 'advanced' && !outcome.caughtUp) || outcome.kind === 'reorg'
      if (again || !running) continue
      await pause(config.chain.poll_interval_ms)
    }
  }

  return {
    runRound,
    start() {
      if (loop) return loop
      running = true
      loop = run().finally(() => {
        running = false
        loop = null
      })
      return loop
    },
    async stop() {
      running = false
      wake?.()
      await loop?.catch(() => undefined)
    },
    status() {
      const checkpoint = state.checkpoint
      return {
        checkpoint,
        head,
        safeHead: safe,
        lag: head === null ? null : Math.max(0, head - checkpoint),
        maxBlockRange: spans.rangeSpan(),
        providerSpans: Object.fromEntries(spans.limits()),
        lastRoundAt,
        providers: providers.map((p) => {
          const last = lastProbes.get(p.name)
          return { ...p.status(), head: typeof last === 'number' ? last : null }
        }),
      }
    },
    onRound: rounds.addListener,
    onDisagreement: disagreements.addListener,
  }
}

function unique(values: readonly Address[]): Address[] {
  return [...new Set(values)]
}
