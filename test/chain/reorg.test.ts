import { describe, expect, it } from 'vitest'
import type { Address, Hex } from 'viem'
import type { BlockRef } from '../../src/chain/chain-state.ts'
import type { AcceptedLog } from '../../src/chain/log.ts'
import { findForkPoint, removedLogs, type ForkSearch } from '../../src/chain/reorg.ts'

const hex32 = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`
const addr = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`

/** The hash block `n` had on the chain the reader followed, and on a competing fork. */
const oldHash = (n: number) => hex32(0xa000_0000 + n)
const newHash = (n: number) => hex32(0xb000_0000 + n)

/** Kept blocks `numbers`, all with their old hash, in the order given. */
const keep = (...numbers: number[]): BlockRef[] => numbers.map((number) => ({ number, hash: oldHash(number) }))

/** Canonical hashes: blocks in `unchanged` kept their old hash, blocks in `changed` have a new one. */
function canonical(unchanged: number[], changed: number[]): Map<number, Hex> {
  return new Map<number, Hex>([...unchanged.map((n) => [n, oldHash(n)] as const), ...changed.map((n) => [n, newHash(n)] as const)])
}

describe('findForkPoint', () => {
  /** A floor below every kept block: the window is not the limit in these cases. */
  const BELOW_ALL = 0
  const kept = keep(10, 11, 12, 13, 14, 15)

  it('is the highest kept block when it has not changed', () => {
    expect(findForkPoint(kept, canonical([15], []), BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: 15 })
  })

  it('looks no further than the highest unchanged block', () => {
    // Lower blocks are not needed (and are not in `canonical`).
    expect(findForkPoint(kept, canonical([15, 14], []), BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: 15 })
  })

  it('finds a fork in the middle: the highest block that did not change', () => {
    expect(findForkPoint(kept, canonical([10, 11, 12], [13, 14, 15]), BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: 12 })
  })

  it('finds a fork at the lowest kept block', () => {
    expect(findForkPoint(kept, canonical([10], [11, 12, 13, 14, 15]), BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: 10 })
  })

  it('does not depend on the order of the kept blocks', () => {
    const shuffled = keep(13, 10, 15, 12, 11, 14)
    expect(findForkPoint(shuffled, canonical([10, 11, 12], [13, 14, 15]), BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: 12 })
  })

  it('does not reorder the caller array', () => {
    const shuffled = keep(13, 10, 15)
    findForkPoint(shuffled, canonical([], [15, 13, 10]), BELOW_ALL)
    expect(shuffled.map((b) => b.number)).toEqual([13, 10, 15])
  })

  it('works with gaps between kept block numbers', () => {
    const sparse = keep(100, 140, 171, 205)
    expect(findForkPoint(sparse, canonical([100, 140], [171, 205]), BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: 140 })
  })

  it('asks for the first batch, highest first, when nothing has been fetched', () => {
    expect(findForkPoint(kept, new Map(), BELOW_ALL, 3)).toEqual({ kind: 'fetch', next: [15, 14, 13] })
  })

  it('uses a default batch of 8', () => {
    const many = keep(...Array.from({ length: 20 }, (_, i) => 100 + i))
    expect(findForkPoint(many, new Map(), BELOW_ALL)).toEqual({ kind: 'fetch', next: [119, 118, 117, 116, 115, 114, 113, 112] })
  })

  it('asks for the next batch below the lowest changed block fetched so far', () => {
    expect(findForkPoint(kept, canonical([], [15, 14, 13]), BELOW_ALL, 3)).toEqual({ kind: 'fetch', next: [12, 11, 10] })
  })

  it('asks for a shorter batch when fewer kept blocks remain', () => {
    expect(findForkPoint(kept, canonical([], [15, 14, 13, 12]), BELOW_ALL, 3)).toEqual({ kind: 'fetch', next: [11, 10] })
  })

  it('asks for one block at a time with batch 1', () => {
    expect(findForkPoint(kept, canonical([], [15]), BELOW_ALL, 1)).toEqual({ kind: 'fetch', next: [14] })
  })

  it('asks only for kept blocks, skipping gaps in the numbering', () => {
    const sparse = keep(100, 140, 171, 205, 230)
    expect(findForkPoint(sparse, canonical([], [230]), BELOW_ALL, 3)).toEqual({ kind: 'fetch', next: [205, 171, 140] })
  })

  it('asks for the highest block missing in canonical, even when lower blocks were fetched', () => {
    // 14 is missing: an unchanged block further down cannot be the fork while 14 is unknown.
    const search = findForkPoint(kept, canonical([10, 11], [15, 13, 12]), BELOW_ALL, 2)
    expect(search.kind).toBe('fetch')
    if (search.kind === 'fetch') expect(search.next[0]).toBe(14)
  })

  it('converges by repeated batches to the fork a full lookup finds', () => {
    const many = keep(...Array.from({ length: 30 }, (_, i) => 1_000 + i))
    const fork = 1_004
    const chain = (n: number) => (n <= fork ? oldHash(n) : newHash(n))
    const fetched = new Map<number, Hex>()
    let rounds = 0
    let search = findForkPoint(many, fetched, BELOW_ALL, 8)
    while (search.kind === 'fetch') {
      expect(search.next.length).toBeLessThanOrEqual(8)
      for (const n of search.next) {
        expect(fetched.has(n)).toBe(false)
        fetched.set(n, chain(n))
      }
      rounds++
      search = findForkPoint(many, fetched, BELOW_ALL, 8)
    }
    expect(search).toEqual({ kind: 'fork', forkBlock: fork })
    expect(rounds).toBe(4) // 1029..1022, 1021..1014, 1013..1006, then 1005..1000 (with 1004 in it)
  })

  it('rolls back to the floor when every kept block above it changed', () => {
    expect(findForkPoint(kept, canonical([], [10, 11, 12, 13, 14, 15]), BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: BELOW_ALL })
  })

  it('rolls back to the floor when no block is kept', () => {
    expect(findForkPoint([], new Map(), 41)).toEqual({ kind: 'fork', forkBlock: 41 })
  })

  it('ignores canonical hashes for blocks that were not kept', () => {
    const sparse = keep(10, 20)
    const map = new Map<number, Hex>([
      [20, newHash(20)],
      [15, oldHash(15)],
      [10, newHash(10)],
    ])
    expect(findForkPoint(sparse, map, BELOW_ALL)).toEqual({ kind: 'fork', forkBlock: BELOW_ALL })
  })

  it('compares hashes exactly: a hash differing in one nibble has changed', () => {
    const block: BlockRef = { number: 5, hash: hex32(0x1234) }
    const almost = hex32(0x1235)
    expect(findForkPoint([block], new Map([[5, almost]]), 5)).toEqual({ kind: 'too_deep', changedBlock: 5 })
    expect(findForkPoint([block], new Map([[5, hex32(0x1234)]]), 5)).toEqual({ kind: 'fork', forkBlock: 5 })
  })
})

describe('findForkPoint with the final floor (reorg_window below the highest block read)', () => {
  // `changed` lists the kept blocks whose hash changed; every other kept block is unchanged.
  const table: { name: string; kept: number[]; changed: number[]; floor: number; expected: ForkSearch }[] = [
    // The reorg of issue 9 item 8: one range 1..14 read at confirmations 1, only its end and the
    // paying block 13 kept; a depth-2 reorg replaces both.
    { name: 'a shallow reorg changing both kept blocks right after start-up rolls back to start_block - 1', kept: [13, 14], changed: [13, 14], floor: 0, expected: { kind: 'fork', forkBlock: 0 } },
    { name: 'only the range end kept, and it changed', kept: [14], changed: [14], floor: 0, expected: { kind: 'fork', forkBlock: 0 } },
    { name: 'every kept block above the floor changed: back to the floor, not below', kept: [300, 340, 400], changed: [300, 340, 400], floor: 144, expected: { kind: 'fork', forkBlock: 144 } },
    { name: 'an unchanged kept block above the floor is the fork', kept: [150, 300, 340, 400], changed: [340, 400], floor: 144, expected: { kind: 'fork', forkBlock: 300 } },
    { name: 'the kept block at the floor changed: deeper than the window', kept: [144, 300, 400], changed: [144, 300, 400], floor: 144, expected: { kind: 'too_deep', changedBlock: 144 } },
    { name: 'a kept block below the floor changed: deeper than the window', kept: [100, 300, 400], changed: [100, 300, 400], floor: 144, expected: { kind: 'too_deep', changedBlock: 100 } },
    { name: 'the kept block at the floor unchanged: the fork is the floor', kept: [144, 300, 400], changed: [300, 400], floor: 144, expected: { kind: 'fork', forkBlock: 144 } },
    { name: 'an unchanged kept block below the floor: the fork is still the floor (nothing final is re-read)', kept: [100, 300, 400], changed: [300, 400], floor: 144, expected: { kind: 'fork', forkBlock: 144 } },
    { name: 'a changed block below the floor is not reached when a block above is unchanged', kept: [100, 300, 400], changed: [100, 400], floor: 144, expected: { kind: 'fork', forkBlock: 300 } },
    { name: 'the highest kept block unchanged: no rollback past it', kept: [300, 400], changed: [], floor: 144, expected: { kind: 'fork', forkBlock: 400 } },
  ]
  for (const row of table) {
    it(row.name, () => {
      const map = canonical(row.kept.filter((n) => !row.changed.includes(n)), row.changed)
      expect(findForkPoint(keep(...row.kept), map, row.floor)).toEqual(row.expected)
    })
  }

  it('fetches blocks at or below the floor only when every kept block above it changed', () => {
    expect(findForkPoint(keep(100, 144, 300, 400), canonical([], [300, 400]), 144, 8)).toEqual({ kind: 'fetch', next: [144, 100] })
  })
})

const TRANSFER_TOPIC: Hex = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
const TOKEN = addr(0xc0ffee)
const topicOf = (a: Address): Hex => `0x${'0'.repeat(24)}${a.slice(2)}`

/** An accepted transfer of `value` in transaction `tx`, at the given position. */
function transfer(tx: number, value: number, position: { block: number; logIndex: number; blockHash?: Hex }, to: Address = addr(0xb)): AcceptedLog {
  return {
    txHash: hex32(0x7000 + tx),
    blockNumber: position.block,
    blockHash: position.blockHash ?? oldHash(position.block),
    logIndex: position.logIndex,
    address: TOKEN,
    topics: [TRANSFER_TOPIC, topicOf(addr(0xa)), topicOf(to)],
    data: hex32(value),
    from: addr(0xa),
    to,
    value: String(value),
    providers: ['a', 'b'],
  }
}

describe('removedLogs', () => {
  it('removes nothing when the chain after the reorg holds the same logs', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 }), transfer(2, 20, { block: 6, logIndex: 0 })]
    expect(removedLogs(before, structuredClone(before))).toEqual([])
  })

  it('removes nothing when there was nothing before', () => {
    expect(removedLogs([], [transfer(1, 10, { block: 5, logIndex: 0 })])).toEqual([])
  })

  it('removes everything when nothing is left after', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 }), transfer(2, 20, { block: 6, logIndex: 0 })]
    expect(removedLogs(before, [])).toEqual(before)
  })

  it('does not remove a transfer re-included in another block, with another hash and log index', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 })]
    const after = [transfer(1, 10, { block: 7, logIndex: 3, blockHash: newHash(7) })]
    expect(removedLogs(before, after)).toEqual([])
  })

  it('does not remove a transfer re-included in the same block number on the new fork', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 2 })]
    const after = [transfer(1, 10, { block: 5, logIndex: 0, blockHash: newHash(5) })]
    expect(removedLogs(before, after)).toEqual([])
  })

  it('removes a log that vanished, and keeps the others', () => {
    const kept = transfer(1, 10, { block: 5, logIndex: 0 })
    const vanished = transfer(2, 20, { block: 6, logIndex: 0 })
    expect(removedLogs([kept, vanished], [kept])).toEqual([vanished])
  })

  it('returns the removed logs as they were before, in their original order', () => {
    const a = transfer(1, 10, { block: 5, logIndex: 0 })
    const b = transfer(2, 20, { block: 6, logIndex: 0 })
    const c = transfer(3, 30, { block: 7, logIndex: 0 })
    const d = transfer(4, 40, { block: 8, logIndex: 0 })
    const removed = removedLogs([a, b, c, d], [transfer(3, 30, { block: 9, logIndex: 1, blockHash: newHash(9) })])
    expect(removed).toEqual([a, b, d])
    expect(removed[0]).toBe(a) // the before objects, not copies
  })

  it('removes a transfer whose transaction was replaced by another one (same content, other tx hash)', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 })]
    const after = [transfer(2, 10, { block: 5, logIndex: 0, blockHash: newHash(5) })]
    expect(removedLogs(before, after)).toEqual(before)
  })

  it('removes a transfer whose amount changed in the re-included transaction', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 })]
    const after = [transfer(1, 11, { block: 6, logIndex: 0 })]
    expect(removedLogs(before, after)).toEqual(before)
  })

  it('removes a transfer whose recipient changed', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 }, addr(0xb))]
    const after = [transfer(1, 10, { block: 5, logIndex: 0 }, addr(0xc))]
    expect(removedLogs(before, after)).toEqual(before)
  })

  it('removes a transfer emitted by another token contract in the re-included transaction', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 })]
    const after = [{ ...transfer(1, 10, { block: 5, logIndex: 0 }), address: addr(0xdead) }]
    expect(removedLogs(before, after)).toEqual(before)
  })

  it('counts identical transfers in one transaction as a multiset: one of two survives', () => {
    const first = transfer(1, 10, { block: 5, logIndex: 0 })
    const second = transfer(1, 10, { block: 5, logIndex: 1 })
    const survivor = transfer(1, 10, { block: 8, logIndex: 4, blockHash: newHash(8) })
    const removed = removedLogs([first, second], [survivor])
    expect(removed).toHaveLength(1)
    expect([first, second]).toContainEqual(removed[0])
  })

  it('removes none of two identical transfers when both survive', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 }), transfer(1, 10, { block: 5, logIndex: 1 })]
    const after = [transfer(1, 10, { block: 8, logIndex: 0 }), transfer(1, 10, { block: 8, logIndex: 1 })]
    expect(removedLogs(before, after)).toEqual([])
  })

  it('removes two of three identical transfers when one survives', () => {
    const before = [0, 1, 2].map((logIndex) => transfer(1, 10, { block: 5, logIndex }))
    expect(removedLogs(before, [transfer(1, 10, { block: 9, logIndex: 7 })])).toHaveLength(2)
  })

  it('does not let a surviving transfer cover a different one in the same transaction', () => {
    const ten = transfer(1, 10, { block: 5, logIndex: 0 })
    const twenty = transfer(1, 20, { block: 5, logIndex: 1 })
    expect(removedLogs([ten, twenty], [transfer(1, 20, { block: 6, logIndex: 0 })])).toEqual([ten])
  })

  it('ignores extra logs that only exist after the reorg', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 })]
    const after = [transfer(1, 10, { block: 5, logIndex: 0 }), transfer(1, 10, { block: 5, logIndex: 1 }), transfer(9, 90, { block: 6, logIndex: 0 })]
    expect(removedLogs(before, after)).toEqual([])
  })

  it('does not modify its inputs', () => {
    const before = [transfer(1, 10, { block: 5, logIndex: 0 }), transfer(2, 20, { block: 6, logIndex: 0 })]
    const after = [transfer(1, 10, { block: 7, logIndex: 0 })]
    const [b, a] = [structuredClone(before), structuredClone(after)]
    removedLogs(before, after)
    expect(before).toEqual(b)
    expect(after).toEqual(a)
  })
})
