import { BlockNotFoundError, createPublicClient, encodeEventTopics, http, parseAbiItem, toHex, type Address, type Hex, type PublicClient } from 'viem'
import { BrokenCircuitError, CircuitState, EventEmitter, TaskCancelledError, type Event } from 'cockatiel'
import type { BreakerConfig, ProviderConfig, RpcConfig } from '../config/schema.ts'
import { classifyRpcError, type RpcErrorKind, type RpcFailureFacts } from './classify-rpc-error.ts'
import { ProviderError } from './errors.ts'
import { TRANSFER_TOPIC, normalizeLog, type ObservedLog } from './log.ts'
import { createProviderPolicy } from './provider-policy.ts'
import type { BlockRange } from './quorum-head.ts'
import { rpcFailureFacts } from './rpc-failure-facts.ts'
import { redactText, urlSecrets } from '../ops/redact.ts'

export const TRANSFER_EVENT = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')

/** The JSON-RPC methods the reader uses; metrics are labelled with these. */
export type RpcMethod = 'eth_chainId' | 'eth_blockNumber' | 'eth_getLogs' | 'eth_getBlockByNumber'

/** One network attempt (a retried call makes several), for metrics and logs. */
export type RpcAttempt = { provider: string; method: RpcMethod; outcome: 'ok' | 'timeout' | 'circuit_open' | RpcErrorKind; durationMs: number }

export type BreakerStateName = 'closed' | 'open' | 'half_open' | 'isolated'

/** What an operator sees of one provider; never its URL. */
export type ProviderStatus = {
  name: string
  state: BreakerStateName
  consecutiveFailures: number
  lastError: string | null
  /** Milliseconds until an open breaker lets a probe through; null unless open. */
  halfOpenInMs: number | null
  /** Duration of the last successful attempt. */
  latencyMs: number | null
  /**
   * Why the provider's answers are refused (another chain id, HTTP 401/403, a malformed
   * answer), with the methods refused; null when not. A refused provider counts toward no
   * quorum; the refusal of a method clears only with a good answer to that method.
   */
  refused: string | null
}

/** The eth_getLogs filter of SPEC §5: merchant tokens, the Transfer topic, merchant addresses as `to`. */
export type TransferFilter = { tokens: readonly Address[]; recipients: readonly Address[]; fromBlock: number; toBlock: number }

/** One JSON-RPC provider behind its own policy. A value, not a singleton: build one per configured provider. */
export type RpcProvider = {
  readonly name: string
  /**
   * Asks eth_chainId and resolves when it names the configured chain. Another chain id fails
   * with a `refused` ProviderError, and the provider stays refused until it names the right one.
   */
  confirmChainId(): Promise<void>
  getBlockNumber(): Promise<number>
  getBlockHash(block: number): Promise<Hex>
  /** Transfer logs matching `filter`, each checked to lie in the range and match the filter. */
  getTransferLogs(filter: TransferFilter): Promise<ObservedLog[]>
  status(): ProviderStatus
  readonly onAttempt: Event<RpcAttempt>
  readonly onBreakerStateChange: Event<BreakerStateName>
  /** The refusal's reason each time it changes (`status().refused`); null once every refused method answered well again. */
  readonly onRefusalChange: Event<string | null>
}

export type CreateRpcProviderParameters = {
  provider: ProviderConfig
  /** `chain.id`: every answer must come from this chain; a provider reporting another is refused. */
  chainId: number
  breaker: BreakerConfig
  rpc: RpcConfig
}

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
}

/**
 * Creates a provider: a viem public client (its own retries off, so cockatiel owns retry
 * and timeout) wrapped in the provider's policy. Every error it throws is a `ProviderError`
 * whose message is free of the URL.
 */
export function createRpcProvider(parameters: CreateRpcProviderParameters): RpcProvider {
  const { provider, breaker: breakerConfig, rpc, chainId } = parameters
  const name = provider.name
  const client: PublicClient = createPublicClient({
    // viem's own timeout only reaps requests the policy already gave up on.
    transport: http(provider.url, { retryCount: 0, timeout: rpc.timeout_ms + 1_000, batch: false }),
    cacheTime: 0,
  })
  const { policy, breaker } = createProviderPolicy(breakerConfig, rpc)
  const attempts = new EventEmitter<RpcAttempt>()
  const stateChanges = new EventEmitter<BreakerStateName>()
  const refusalChanges = new EventEmitter<string | null>()
  /** The one record of this provider's refusal: each refused method and why. */
  const refusals = new Map<RpcMethod, string>()
  let consecutiveFailures = 0
  let lastError: string | null = null
  let latencyMs: number | null = null
  let openedAt = 0
  breaker.onBreak(() => {
    openedAt = Date.now()
  })
  breaker.onStateChange((state) => stateChanges.emit(STATE_NAMES[state]))

  const secrets = urlSecrets(provider.url)
  /** `range`: the eth_getLogs span asked for, so a "too large" answer's stated span can be read. */
  const toProviderError = (method: RpcMethod, error: unknown, range?: BlockRange): ProviderError => {
    if (error instanceof ProviderError) return error
    if (error instanceof BlockNotFoundError) return new ProviderError(name, method, 'transient', 'block not found (the node is behind its own head)')
    const facts = rpcFailureFacts(error, range)
    const kind = classifyRpcError(facts)
    return new ProviderError(name, method, kind, describeFacts(facts, secrets), kind === 'range_too_large' ? facts.statedSpan : undefined)
  }

  async function call<T>(method: RpcMethod, fn: () => Promise<T>): Promise<T> {
    try {
      return await policy.execute(async ({ signal }) => {
        const started = performance.now()
        try {
          const value = await fn()
          latencyMs = performance.now() - started
          if (!signal.aborted) {
            attempts.emit({ provider: name, method, outcome: 'ok', durationMs: latencyMs })
            setRefusal(method, null)
          }
          consecutiveFailures = 0
          return value
        } catch (error) {
          const failure = toProviderError(method, error)
          // An attempt the timeout policy abandoned was already reported as a timeout.
          if (!signal.aborted) {
            attempts.emit({ provider: name, method, outcome: failure.kind === 'circuit_open' ? 'transient' : failure.kind, durationMs: performance.now() - started })
            noteFailure(failure)
            if (failure.kind === 'refused') setRefusal(method, failure.reason)
          }
          throw failure
        }
      })
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        attempts.emit({ provider: name, method, outcome: 'circuit_open', durationMs: 0 })
        throw new ProviderError(name, method, 'circuit_open', `circuit breaker is open; next probe in ${Math.ceil(halfOpenInMs() ?? 0)} ms`)
      }
      if (error instanceof TaskCancelledError) {
        const failure = new ProviderError(name, method, 'transient', `timed out after ${rpc.timeout_ms} ms`)
        attempts.emit({ provider: name, method, outcome: 'timeout', durationMs: rpc.timeout_ms })
        noteFailure(failure)
        throw failure
      }
      throw error
    }
  }

  function noteFailure(failure: ProviderError) {
    lastError = failure.message
    if (failure.kind === 'transient') consecutiveFailures++
  }

  /** Records (reason) or clears (null) the refusal of one method; emits when what an operator sees changes. */
  function setRefusal(method: RpcMethod, reason: string | null) {
    const before = refusalReason(refusals)
    if (reason === null) refusals.delete(method)
    else refusals.set(method, reason)
    const after = refusalReason(refusals)
    if (after !== before) refusalChanges.emit(after)
  }

  function halfOpenInMs(): number | null {
    return breaker.state === CircuitState.Open ? Math.max(0, openedAt + breakerConfig.open_ms - Date.now()) : null
  }

  return {
    name,
    onAttempt: attempts.addListener,
    onBreakerStateChange: stateChanges.addListener,
    onRefusalChange: refusalChanges.addListener,
    confirmChainId: () =>
      call('eth_chainId', async () => {
        const reported = await client.getChainId()
        if (reported !== chainId) throw new ProviderError(name, 'eth_chainId', 'refused', `reports chain id ${reported}, expected ${chainId}`)
      }),
    getBlockNumber: () => call('eth_blockNumber', async () => Number(await client.getBlockNumber({ cacheTime: 0 }))),
    getBlockHash: (block) =>
      call('eth_getBlockByNumber', async () => {
        const found = await client.getBlock({ blockNumber: BigInt(block), includeTransactions: false })
        if (typeof found.hash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(found.hash) || Number(found.number) !== block) {
          throw new ProviderError(name, 'eth_getBlockByNumber', 'refused', 'answer is not the requested block')
        }
        return found.hash.toLowerCase() as Hex
      }),
    getTransferLogs: (filter) =>
      call('eth_getLogs', async () => {
        // The raw request: viem would decode every log of every provider, and only the agreed
        // ones are worth decoding (once, after the quorum).
        const raw: unknown = await client
          .request({
            method: 'eth_getLogs',
            params: [
              {
                address: [...filter.tokens],
                topics: encodeEventTopics({ abi: [TRANSFER_EVENT], eventName: 'Transfer', args: { to: [...filter.recipients] } }),
                fromBlock: toHex(filter.fromBlock),
                toBlock: toHex(filter.toBlock),
              },
            ],
          })
          .catch((error: unknown) => {
            throw toProviderError('eth_getLogs', error, filter)
          })
        if (!Array.isArray(raw)) throw new ProviderError(name, 'eth_getLogs', 'refused', 'answer is not a list of logs')
        return raw.map((entry) => {
          const log = normalizeLog(entry)
          if (typeof log === 'string') throw new ProviderError(name, 'eth_getLogs', 'refused', log)
          const problem = checkAgainstFilter(log, filter)
          if (problem !== undefined) throw new ProviderError(name, 'eth_getLogs', 'refused', problem)
          return log
        })
      }),
    status: () => ({
      name,
      state: STATE_NAMES[breaker.state],
      consecutiveFailures,
      lastError,
      halfOpenInMs: halfOpenInMs(),
      latencyMs,
      refused: refusalReason(refusals),
    }),
  }
}

/** One line for the refused methods, grouped by reason: "HTTP 401 (eth_chainId, eth_blockNumber)". */
function refusalReason(refusals: ReadonlyMap<RpcMethod, string>): string | null {
  if (refusals.size === 0) return null
  const methods = new Map<string, RpcMethod[]>()
  for (const [method, reason] of refusals) methods.set(reason, [...(methods.get(reason) ?? []), method])
  return [...methods].map(([reason, refused]) => `${reason} (${refused.join(', ')})`).join('; ')
}

/** A provider that returns logs outside what was asked for is not trusted for the round. */
function checkAgainstFilter(log: ObservedLog, filter: TransferFilter): string | undefined {
  if (log.blockNumber < filter.fromBlock || log.blockNumber > filter.toBlock) return `log in block ${log.blockNumber} is outside ${filter.fromBlock}-${filter.toBlock}`
  if (!filter.tokens.includes(log.address)) return 'log from a token that was not asked for'
  if (log.topics[0] !== TRANSFER_TOPIC) return 'log is not a Transfer'
  const to = log.topics[2] === undefined ? undefined : (`0x${log.topics[2].slice(26)}` as Address)
  if (to === undefined || !filter.recipients.includes(to)) return 'log to an address that was not asked for'
  return undefined
}

/** The most of a provider's own error message shown (after its URL's secrets are masked). */
const RPC_MESSAGE_MAX_CHARS = 200

function describeFacts(facts: RpcFailureFacts, secrets: readonly string[]): string {
  if (facts.bodyTooLarge) return 'answer larger than the client accepts (too many logs for one call)'
  if (facts.timedOut) return 'timed out'
  if (facts.network) return 'connection failed'
  if (facts.httpStatus !== undefined) return `HTTP ${facts.httpStatus}`
  if (facts.rpcCode !== undefined) return `JSON-RPC error ${facts.rpcCode}${facts.rpcMessage ? `: ${redactText(facts.rpcMessage, secrets, RPC_MESSAGE_MAX_CHARS)}` : ''}`
  return 'answer is not valid JSON-RPC'
}
