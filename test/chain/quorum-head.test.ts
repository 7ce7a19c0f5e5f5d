import { describe, expect, it } from 'vitest'
import { decideQuorumHead, nextRange, quorumHead, safeHead, type PendingProvider, type QuorumHeadDecision } from '../../src/chain/quorum-head.ts'

describe('quorumHead', () => {
  it('is the head all providers reached when they agree', () => {
    expect(quorumHead([100, 100, 100], 2)).toBe(100)
    expect(quorumHead([100, 100, 100], 3)).toBe(100)
  })

  it('is the second-highest head for quorum 2 of 3', () => {
    expect(quorumHead([100, 101, 102], 2)).toBe(101)
  })

  it('does not depend on the order the heads came in', () => {
    for (const heads of [
      [5, 9, 7],
      [9, 7, 5],
      [7, 5, 9],
      [5, 7, 9],
    ]) {
      expect(quorumHead(heads, 2)).toBe(7)
      expect(quorumHead(heads, 3)).toBe(5)
      expect(quorumHead(heads, 1)).toBe(9)
    }
  })

  it('cannot be raised by one provider far ahead (or lying)', () => {
    expect(quorumHead([100, 100, 1_000_000], 2)).toBe(100)
    expect(quorumHead([100, 1_000_000, 99], 2)).toBe(100)
  })

  it('cannot be lowered by one provider far behind', () => {
    expect(quorumHead([0, 100, 100], 2)).toBe(100)
    expect(quorumHead([100, 1, 99], 2)).toBe(99)
  })

  it('is held back by a lagging provider when the quorum needs it', () => {
    expect(quorumHead([0, 100, 100], 3)).toBe(0)
  })

  it('sorts numerically, not as strings', () => {
    // A lexicographic sort would put 9 above 10 and 100.
    expect(quorumHead([9, 10, 100], 2)).toBe(10)
    expect(quorumHead([1_000, 200, 30], 2)).toBe(200)
  })

  it('is undefined with fewer heads than the quorum', () => {
    expect(quorumHead([], 1)).toBeUndefined()
    expect(quorumHead([], 2)).toBeUndefined()
    expect(quorumHead([100], 2)).toBeUndefined()
    expect(quorumHead([100, 101], 3)).toBeUndefined()
  })

  it('is defined with exactly quorum heads: the lowest of them', () => {
    expect(quorumHead([100, 90], 2)).toBe(90)
    expect(quorumHead([42], 1)).toBe(42)
  })

  it('handles block 0', () => {
    expect(quorumHead([0, 0, 5], 2)).toBe(0)
  })

  it('does not reorder the caller array', () => {
    const heads = [3, 1, 2]
    quorumHead(heads, 2)
    expect(heads).toEqual([3, 1, 2])
  })

  it('with 5 providers and quorum 3, ignores the two highest and the two lowest extremes', () => {
    expect(quorumHead([1, 2, 50, 1_000, 2_000], 3)).toBe(50)
  })
})

describe('safeHead', () => {
  it('equals the head with 1 confirmation', () => {
    expect(safeHead(100, 1)).toBe(100)
    expect(safeHead(0, 1)).toBe(0)
  })

  it('satisfies head - safe + 1 === confirmations', () => {
    for (const [head, confirmations] of [
      [100, 3],
      [100, 12],
      [5, 5],
      [1_000_000, 64],
    ] as const) {
      const safe = safeHead(head, confirmations)
      expect(head - safe + 1).toBe(confirmations)
    }
  })

  it('is 3 blocks deep with 3 confirmations: blocks 98, 99, 100 confirm block 98', () => {
    expect(safeHead(100, 3)).toBe(98)
  })

  it('goes below zero on a young chain (nothing final yet)', () => {
    expect(safeHead(1, 3)).toBe(-1)
    expect(safeHead(1, 3)).toBeLessThan(0)
  })
})

describe('nextRange', () => {
  it('is undefined when the safe head is at the checkpoint', () => {
    expect(nextRange(100, 100, 10)).toBeUndefined()
  })

  it('is undefined when the safe head is below the checkpoint', () => {
    expect(nextRange(100, 99, 10)).toBeUndefined()
    expect(nextRange(100, -1, 10)).toBeUndefined()
  })

  it('starts just after the checkpoint', () => {
    expect(nextRange(100, 150, 10)?.fromBlock).toBe(101)
    expect(nextRange(-1, 150, 10)?.fromBlock).toBe(0)
  })

  it('reads a single block when the safe head is one ahead', () => {
    expect(nextRange(100, 101, 10)).toEqual({ fromBlock: 101, toBlock: 101 })
  })

  it('is bounded by maxBlockRange (inclusive span of exactly maxBlockRange blocks)', () => {
    const range = nextRange(100, 1_000, 10)
    expect(range).toEqual({ fromBlock: 101, toBlock: 110 })
    expect(range!.toBlock - range!.fromBlock + 1).toBe(10)
  })

  it('is bounded by the safe head', () => {
    expect(nextRange(100, 105, 10)).toEqual({ fromBlock: 101, toBlock: 105 })
  })

  it('ends exactly at the safe head when both bounds coincide', () => {
    expect(nextRange(100, 110, 10)).toEqual({ fromBlock: 101, toBlock: 110 })
    expect(nextRange(100, 111, 10)).toEqual({ fromBlock: 101, toBlock: 110 })
    expect(nextRange(100, 109, 10)).toEqual({ fromBlock: 101, toBlock: 109 })
  })

  it('with maxBlockRange 1 reads one block at a time', () => {
    expect(nextRange(100, 1_000, 1)).toEqual({ fromBlock: 101, toBlock: 101 })
  })

  it('successive ranges tile the chain without gaps or overlap', () => {
    const safe = 57
    const seen: number[] = []
    let checkpoint = -1
    // Bounded, so that a range that never advances fails the test instead of hanging it.
    for (let round = 0, range = nextRange(checkpoint, safe, 10); range && round < 100; round++, range = nextRange(checkpoint, safe, 10)) {
      for (let b = range.fromBlock; b <= range.toBlock; b++) seen.push(b)
      checkpoint = range.toBlock
    }
    expect(seen).toEqual(Array.from({ length: safe + 1 }, (_, i) => i))
  })
})

describe('decideQuorumHead', () => {
  const cases: { name: string; answered: number[]; pending: PendingProvider[]; quorum: number; expected: QuorumHeadDecision }[] = [
    { name: 'all three answered: the quorum head', answered: [100, 101, 102], pending: [], quorum: 2, expected: { kind: 'decided', head: 101 } },
    { name: 'two equal heads in, a hung provider left: decided at once', answered: [100, 100], pending: ['unresponsive'], quorum: 2, expected: { kind: 'decided', head: 100 } },
    { name: 'two different heads in, a hung provider left: the lower, which two reached', answered: [100, 101], pending: ['unresponsive'], quorum: 2, expected: { kind: 'decided', head: 100 } },
    { name: 'two equal heads in, a new provider left: it cannot change the head', answered: [100, 100], pending: ['new'], quorum: 2, expected: { kind: 'decided', head: 100 } },
    { name: 'two different heads in, a new provider left: it could raise the head, wait', answered: [90, 100], pending: ['new'], quorum: 2, expected: { kind: 'wait' } },
    { name: 'a provider that answered last round is waited for (it is needed for the range)', answered: [100, 100], pending: ['answering'], quorum: 2, expected: { kind: 'wait' } },
    { name: 'one head in: wait, even for a hung provider, since nothing else can make the quorum', answered: [100], pending: ['unresponsive', 'unresponsive'], quorum: 2, expected: { kind: 'wait' } },
    { name: 'too few left to make the quorum: no quorum', answered: [100], pending: [], quorum: 2, expected: { kind: 'no_quorum' } },
    { name: 'nobody answered and nobody is left', answered: [], pending: [], quorum: 2, expected: { kind: 'no_quorum' } },
    { name: 'nobody answered yet', answered: [], pending: ['new', 'new', 'new'], quorum: 2, expected: { kind: 'wait' } },
    { name: '3 of 3: every provider is needed', answered: [100, 100], pending: ['new'], quorum: 3, expected: { kind: 'wait' } },
    { name: '3 of 3 with one hung: wait for it, nothing else can make the quorum', answered: [100, 100], pending: ['unresponsive'], quorum: 3, expected: { kind: 'wait' } },
    { name: '2 of 4, two new left: both could outrank the two in', answered: [100, 100], pending: ['new', 'new'], quorum: 2, expected: { kind: 'wait' } },
    { name: '2 of 4, three equal in, one new left', answered: [100, 100, 100], pending: ['new'], quorum: 2, expected: { kind: 'decided', head: 100 } },
    { name: '2 of 4, top two equal, one new left', answered: [100, 100, 50], pending: ['new'], quorum: 2, expected: { kind: 'decided', head: 100 } },
    { name: '2 of 4, top two differ, one new left', answered: [101, 100, 50], pending: ['new'], quorum: 2, expected: { kind: 'wait' } },
    { name: 'a far-ahead (or lying) head cannot raise it', answered: [100, 1_000_000], pending: ['unresponsive'], quorum: 2, expected: { kind: 'decided', head: 100 } },
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(decideQuorumHead({ answered: c.answered, pending: c.pending, quorum: c.quorum })).toEqual(c.expected)
    })
  }

  it('never exceeds a height quorum providers reached, and gives what waiting for every new provider would give (exhaustive over small cases)', () => {
    const values = [0, 5, 10]
    const kinds: PendingProvider[] = ['answering', 'new', 'unresponsive']
    let decided = 0
    for (const quorum of [1, 2, 3]) {
      for (let answeredCount = 0; answeredCount <= 3; answeredCount++) {
        for (const answered of tuples(values, answeredCount)) {
          for (const pending of tuples(kinds, 3 - answeredCount)) {
            const decision = decideQuorumHead({ answered, pending, quorum })
            if (decision.kind !== 'decided') continue
            decided++
            // Safety: at least `quorum` of the providers that answered reached it.
            expect(answered.filter((h) => h >= decision.head).length).toBeGreaterThanOrEqual(quorum)
            // Nothing lost: whatever the new providers would have answered, waiting gives the same head.
            const newCount = pending.filter((p) => p === 'new').length
            for (const late of tuples([...values, 1_000], newCount)) expect(quorumHead([...answered, ...late], quorum)).toBe(decision.head)
          }
        }
      }
    }
    expect(decided).toBeGreaterThan(20)
  })
})

function tuples<T>(values: readonly T[], length: number): T[][] {
  if (length === 0) return [[]]
  return tuples(values, length - 1).flatMap((rest) => values.map((v) => [v, ...rest]))
}
