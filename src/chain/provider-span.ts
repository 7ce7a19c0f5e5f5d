import pLimit, { type LimitFunction } from 'p-limit'
import { ProviderError } from './errors.ts'
import type { ObservedLog } from './log.ts'
import type { BlockRange } from './quorum-head.ts'
import type { RpcProvider, TransferFilter } from './rpc-provider.ts'

/**
 * What the reader remembers of one provider's eth_getLogs limit: the widest span it is given in
 * one call, and how many ranges it has read whole at that span since it last refused one.
 */
export type SpanLimit = { span: number; readsSinceRefusal: number }

/** After this many ranges read without a "too large" answer, a provider's span doubles back toward `max_block_range`. */
export const SPAN_REGROW_READS = 8

/** A provider's pieces of one range in flight at once (its other calls are not counted). */
export const PIECE_CONCURRENCY = 4

/** The number of blocks in `range`, both ends included. */
export function spanOf(range: BlockRange): number {
  return range.toBlock - range.fromBlock + 1
}

/**
 * A provider's span after it refused `refused` as too large: the span its error stated
 * (`statedSpan`, read from its own words by `stated-span.ts`) when it stated one narrower than
 * the refused piece, so one refusal reaches its limit; otherwise half of the refused span, at
 * least one block (an unknown wording reaches any limit in log2(max_block_range) refusals).
 * Always narrower than the refused span, so splitting a refused piece always makes progress.
 */
export function spanAfterRefusal(refused: BlockRange, statedSpan?: number): number {
  const refusedSpan = spanOf(refused)
  if (statedSpan !== undefined && Number.isInteger(statedSpan) && statedSpan >= 1 && statedSpan < refusedSpan) return statedSpan
  return Math.max(1, Math.floor(refusedSpan / 2))
}

/**
 * A provider's limit after it read a whole range without refusal. A limit may have been
 * temporary (load, a node switch behind a load balancer): after `SPAN_REGROW_READS` such
 * ranges the span doubles, never past `maxBlockRange`. A provider still limited refuses the
 * wider piece once and is narrowed again.
 */
export function spanAfterRead(limit: SpanLimit, maxBlockRange: number): SpanLimit {
  if (limit.span >= maxBlockRange) return { span: maxBlockRange, readsSinceRefusal: 0 }
  const reads = limit.readsSinceRefusal + 1
  if (reads < SPAN_REGROW_READS) return { span: limit.span, readsSinceRefusal: reads }
  return { span: Math.min(maxBlockRange, limit.span * 2), readsSinceRefusal: 0 }
}

/** `range` cut into consecutive pieces of at most `span` blocks, in block order. */
export function splitRange(range: BlockRange, span: number): BlockRange[] {
  if (!Number.isInteger(span) || span < 1) throw new RangeError(`span must be a positive integer, got ${span}`)
  const pieces: BlockRange[] = []
  for (let from = range.fromBlock; from <= range.toBlock; from += span) pieces.push({ fromBlock: from, toBlock: Math.min(range.toBlock, from + span - 1) })
  return pieces
}

/**
 * The span of the range every provider is asked for: the widest any provider takes whole.
 * One provider's limit never narrows it (it gets pieces); when every provider is limited (an
 * answer too large for everyone), the range narrows with them.
 */
export function readRangeSpan(limits: readonly number[], maxBlockRange: number): number {
  return limits.length === 0 ? maxBlockRange : Math.max(1, Math.min(maxBlockRange, Math.max(...limits)))
}

/** Told when a provider refused a span and is read in narrower pieces from now on. */
export type SpanNarrowed = { provider: string; refused: BlockRange; span: number }

export type ProviderSpans = {
  /**
   * `provider`'s transfer logs for `filter`, read in pieces no wider than its span limit and
   * joined in block order, so its answer compares with the others' whole-range answers. A
   * piece it refuses as too large is split again at its narrowed limit (the span it stated,
   * else half); only a one-block piece refused fails the read.
   */
  getTransferLogs(provider: RpcProvider, filter: TransferFilter): Promise<ObservedLog[]>
  /** Each provider's span limit (`maxBlockRange` for a provider that never refused). */
  limits(): ReadonlyMap<string, number>
  /** The span of the next range: see `readRangeSpan`. */
  rangeSpan(): number
}

export type CreateProviderSpansParameters = {
  providers: readonly string[]
  maxBlockRange: number
  onNarrowed?: (event: SpanNarrowed) => void
}

/** Holds each provider's span limit for the reader (in memory: a restart probes again). */
export function createProviderSpans(parameters: CreateProviderSpansParameters): ProviderSpans {
  const { maxBlockRange, onNarrowed } = parameters
  const state = new Map<string, SpanLimit>(parameters.providers.map((name) => [name, { span: maxBlockRange, readsSinceRefusal: 0 }]))
  const pieceLimits = new Map<string, LimitFunction>()
  const limitOf = (name: string) => state.get(name) ?? { span: maxBlockRange, readsSinceRefusal: 0 }

  function refuse(name: string, refused: BlockRange, statedSpan: number | undefined): number {
    const span = Math.min(limitOf(name).span, spanAfterRefusal(refused, statedSpan))
    state.set(name, { span, readsSinceRefusal: 0 })
    onNarrowed?.({ provider: name, refused, span })
    return span
  }

  /** One read of one range from one provider; once a piece failed, its queued pieces are not sent. */
  type Read = { provider: RpcProvider; filter: TransferFilter; queue: LimitFunction; failed: unknown }

  async function readPiece(read: Read, piece: BlockRange): Promise<ObservedLog[]> {
    try {
      return await read.queue(() => {
        if (read.failed !== undefined) throw read.failed
        return read.provider.getTransferLogs({ ...read.filter, ...piece })
      })
    } catch (error) {
      if (!(error instanceof ProviderError && error.kind === 'range_too_large') || spanOf(piece) === 1) {
        read.failed ??= error
        throw error
      }
      const span = refuse(read.provider.name, piece, error.statedSpan)
      const parts = await Promise.all(splitRange(piece, span).map((part) => readPiece(read, part)))
      return parts.flat()
    }
  }

  return {
    async getTransferLogs(provider, filter) {
      let queue = pieceLimits.get(provider.name)
      if (queue === undefined) pieceLimits.set(provider.name, (queue = pLimit(PIECE_CONCURRENCY)))
      const read: Read = { provider, filter, queue, failed: undefined }
      const pieces = splitRange(filter, limitOf(provider.name).span)
      const parts = await Promise.all(pieces.map((piece) => readPiece(read, piece)))
      state.set(provider.name, spanAfterRead(limitOf(provider.name), maxBlockRange))
      return parts.flat()
    },
    limits: () => new Map([...state].map(([name, limit]) => [name, limit.span])),
    rangeSpan: () => readRangeSpan([...state.values()].map((limit) => limit.span), maxBlockRange),
  }
}
