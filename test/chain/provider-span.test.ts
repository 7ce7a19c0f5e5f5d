import { describe, expect, it } from 'vitest'
import { readRangeSpan, spanAfterRead, spanAfterRefusal, splitRange, SPAN_REGROW_READS, type SpanLimit } from '../../src/chain/provider-span.ts'
import { statedSpan } from '../../src/chain/stated-span.ts'
import { REFUSED_PIECE, STATED_REFUSALS, UNSTATED_REFUSALS } from '../support/range-refusals.ts'

describe('spanAfterRefusal', () => {
  it('halves the refused span', () => {
    expect(spanAfterRefusal({ fromBlock: 1, toBlock: 2_000 })).toBe(1_000)
    expect(spanAfterRefusal({ fromBlock: 101, toBlock: 110 })).toBe(5)
  })

  it('counts the span inclusively', () => {
    // 0..9 is 10 blocks, not 9.
    expect(spanAfterRefusal({ fromBlock: 0, toBlock: 9 })).toBe(5)
  })

  it('rounds an odd span down', () => {
    expect(spanAfterRefusal({ fromBlock: 0, toBlock: 8 })).toBe(4) // 9 blocks
    expect(spanAfterRefusal({ fromBlock: 0, toBlock: 2 })).toBe(1) // 3 blocks
  })

  it('never goes below one block', () => {
    expect(spanAfterRefusal({ fromBlock: 5, toBlock: 6 })).toBe(1) // 2 blocks
    expect(spanAfterRefusal({ fromBlock: 5, toBlock: 5 })).toBe(1) // 1 block
  })

  it('always returns a smaller span than the refused one, unless it was one block', () => {
    for (let span = 2; span <= 64; span++) {
      const shrunk = spanAfterRefusal({ fromBlock: 1_000, toBlock: 1_000 + span - 1 })
      expect(shrunk).toBeLessThan(span)
      expect(shrunk).toBeGreaterThanOrEqual(1)
      expect(Number.isInteger(shrunk)).toBe(true)
    }
  })

  it('reaches one block after log2(span) refusals', () => {
    let span = 2_000
    let refusals = 0
    while (span > 1) {
      span = spanAfterRefusal({ fromBlock: 0, toBlock: span - 1 })
      refusals++
    }
    expect(span).toBe(1)
    expect(refusals).toBe(Math.floor(Math.log2(2_000)))
  })
})

describe('spanAfterRefusal when the provider states its span', () => {
  // The provider's words, read as its error is classified, then the pure decision.
  const after = (refusal: { rpcCode?: number; message: string }) => spanAfterRefusal(REFUSED_PIECE, statedSpan(refusal, REFUSED_PIECE))

  it.each(STATED_REFUSALS)('$family: the stated $span blocks in one refusal', (refusal) => {
    expect(after(refusal)).toBe(refusal.span)
  })

  it.each(UNSTATED_REFUSALS)('$family: half', (refusal) => {
    expect(after(refusal)).toBe(25_000)
  })

  const table: { name: string; refused: [number, number]; stated: number | undefined; expected: number }[] = [
    { name: 'a stated span narrower than the refused piece is taken', refused: [1, 100], stated: 7, expected: 7 },
    { name: 'one block less than the refused piece is still narrower', refused: [1, 100], stated: 99, expected: 99 },
    { name: 'a stated span of one block is taken', refused: [1, 100], stated: 1, expected: 1 },
    { name: 'no stated span: half', refused: [1, 100], stated: undefined, expected: 50 },
    { name: 'a stated span as wide as the refused piece: half (it refused that)', refused: [1, 100], stated: 100, expected: 50 },
    { name: 'a stated span wider than the refused piece: half', refused: [1, 100], stated: 2_000, expected: 50 },
    { name: 'a stated span of zero: half', refused: [1, 100], stated: 0, expected: 50 },
    { name: 'a negative stated span: half', refused: [1, 100], stated: -5, expected: 50 },
    { name: 'a fractional stated span: half', refused: [1, 100], stated: 7.5, expected: 50 },
    { name: 'NaN: half', refused: [1, 100], stated: Number.NaN, expected: 50 },
  ]
  for (const row of table) {
    it(row.name, () => {
      expect(spanAfterRefusal({ fromBlock: row.refused[0], toBlock: row.refused[1] }, row.stated)).toBe(row.expected)
    })
  }

  it('is always narrower than the refused span (unless it was one block), whatever is stated', () => {
    for (let span = 1; span <= 64; span++) {
      for (const stated of [undefined, 0, 1, span - 1, span, span + 1, 1_000]) {
        const next = spanAfterRefusal({ fromBlock: 500, toBlock: 500 + span - 1 }, stated)
        expect(next).toBeGreaterThanOrEqual(1)
        if (span > 1) expect(next).toBeLessThan(span)
      }
    }
  })
})

describe('spanAfterRead (regrowth)', () => {
  const table: { name: string; limit: SpanLimit; max: number; expected: SpanLimit }[] = [
    { name: 'counts a read at a narrowed span', limit: { span: 1, readsSinceRefusal: 0 }, max: 500, expected: { span: 1, readsSinceRefusal: 1 } },
    { name: 'keeps the span until enough reads', limit: { span: 4, readsSinceRefusal: SPAN_REGROW_READS - 2 }, max: 500, expected: { span: 4, readsSinceRefusal: SPAN_REGROW_READS - 1 } },
    { name: 'doubles after SPAN_REGROW_READS reads, and counts again', limit: { span: 4, readsSinceRefusal: SPAN_REGROW_READS - 1 }, max: 500, expected: { span: 8, readsSinceRefusal: 0 } },
    { name: 'never grows past max_block_range', limit: { span: 300, readsSinceRefusal: SPAN_REGROW_READS - 1 }, max: 500, expected: { span: 500, readsSinceRefusal: 0 } },
    { name: 'a provider at max_block_range stays there, counting nothing', limit: { span: 500, readsSinceRefusal: 0 }, max: 500, expected: { span: 500, readsSinceRefusal: 0 } },
    { name: 'a span above max_block_range (the setting was lowered) comes down to it', limit: { span: 2_000, readsSinceRefusal: 3 }, max: 500, expected: { span: 500, readsSinceRefusal: 0 } },
  ]
  for (const row of table) {
    it(row.name, () => {
      expect(spanAfterRead(row.limit, row.max)).toEqual(row.expected)
    })
  }

  it('grows from one block back to max_block_range in log2 steps of SPAN_REGROW_READS reads', () => {
    let limit: SpanLimit = { span: 1, readsSinceRefusal: 0 }
    let reads = 0
    while (limit.span < 500) {
      limit = spanAfterRead(limit, 500)
      reads++
    }
    expect(limit.span).toBe(500)
    expect(reads).toBe(Math.ceil(Math.log2(500)) * SPAN_REGROW_READS)
  })
})

describe('splitRange', () => {
  const table: { name: string; range: [number, number]; span: number; expected: [number, number][] }[] = [
    { name: 'a range within the span is one piece', range: [10, 19], span: 10, expected: [[10, 19]] },
    { name: 'a span wider than the range is one piece', range: [10, 19], span: 1_000, expected: [[10, 19]] },
    { name: 'an exact multiple splits evenly', range: [1, 9], span: 3, expected: [[1, 3], [4, 6], [7, 9]] },
    { name: 'the last piece takes the remainder', range: [1, 10], span: 4, expected: [[1, 4], [5, 8], [9, 10]] },
    { name: 'span 1 is one piece per block', range: [5, 7], span: 1, expected: [[5, 5], [6, 6], [7, 7]] },
    { name: 'a one-block range is one piece', range: [42, 42], span: 8, expected: [[42, 42]] },
    { name: 'works from block 0', range: [0, 4], span: 2, expected: [[0, 1], [2, 3], [4, 4]] },
  ]
  for (const row of table) {
    it(row.name, () => {
      expect(splitRange({ fromBlock: row.range[0], toBlock: row.range[1] }, row.span)).toEqual(row.expected.map(([fromBlock, toBlock]) => ({ fromBlock, toBlock })))
    })
  }

  it('covers every block of the range once, in order, whatever the span', () => {
    for (const span of [1, 2, 3, 7, 64, 999]) {
      const blocks = splitRange({ fromBlock: 100, toBlock: 1_099 }, span).flatMap((p) => Array.from({ length: p.toBlock - p.fromBlock + 1 }, (_, i) => p.fromBlock + i))
      expect(blocks).toEqual(Array.from({ length: 1_000 }, (_, i) => 100 + i))
    }
  })

  it('refuses a span that is not a positive integer', () => {
    expect(() => splitRange({ fromBlock: 1, toBlock: 2 }, 0)).toThrow(RangeError)
    expect(() => splitRange({ fromBlock: 1, toBlock: 2 }, 1.5)).toThrow(RangeError)
  })
})

describe('readRangeSpan', () => {
  const table: { name: string; limits: number[]; max: number; expected: number }[] = [
    { name: 'one provider limited to one block does not narrow the range', limits: [500, 500, 1], max: 500, expected: 500 },
    { name: 'two limited providers do not narrow it either', limits: [1, 500, 1], max: 500, expected: 500 },
    { name: 'every provider limited: the widest of their spans', limits: [10, 5, 10], max: 500, expected: 10 },
    { name: 'never wider than max_block_range', limits: [2_000], max: 500, expected: 500 },
    { name: 'no provider: max_block_range', limits: [], max: 500, expected: 500 },
  ]
  for (const row of table) {
    it(row.name, () => {
      expect(readRangeSpan(row.limits, row.max)).toBe(row.expected)
    })
  }
})
