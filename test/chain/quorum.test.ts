import { describe, expect, it } from 'vitest'
import type { Address, Hex } from 'viem'
import { logFingerprint, type ObservedLog } from '../../src/chain/log.ts'
import { agree, agreeOnRange, type ProviderAnswer, type RangeObservation } from '../../src/chain/quorum.ts'

/** A 32-byte hash whose last bytes spell `n` in hex. */
const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`
const addr = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`

const TRANSFER_TOPIC: Hex = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
const TOKEN = addr(0xc0ffee)

/** A plausible ERC-20 Transfer log; `n` makes its tx hash, log index and amount distinct. */
function log(n: number, overrides: Partial<ObservedLog> = {}): ObservedLog {
  return {
    txHash: hash(0x1000 + n),
    blockNumber: 100 + n,
    blockHash: hash(0xb000 + 100 + n),
    logIndex: n,
    address: TOKEN,
    topics: [TRANSFER_TOPIC, `0x${'0'.repeat(24)}${addr(0xa).slice(2)}`, `0x${'0'.repeat(24)}${addr(0xb).slice(2)}`],
    data: hash(1_000 + n),
    ...overrides,
  }
}

const answer = <T>(provider: string, value: T, fingerprint: string): ProviderAnswer<T> => ({ provider, value, fingerprint })

describe('agree', () => {
  it('agrees when every provider gave the same answer, with no dissenters', () => {
    const result = agree([answer('a', 10, 'x'), answer('b', 10, 'x'), answer('c', 10, 'x')], 2)
    expect(result).toEqual({ agreed: true, value: 10, providers: ['a', 'b', 'c'], dissenters: [] })
  })

  it('agrees 2-of-3 and names the single dissenter', () => {
    const result = agree([answer('a', 10, 'x'), answer('b', 99, 'y'), answer('c', 10, 'x')], 2)
    expect(result).toEqual({ agreed: true, value: 10, providers: ['a', 'c'], dissenters: ['b'] })
  })

  it('agrees when the dissenter is the first provider to answer', () => {
    const result = agree([answer('a', 99, 'y'), answer('b', 10, 'x'), answer('c', 10, 'x')], 2)
    expect(result).toMatchObject({ agreed: true, value: 10, providers: ['b', 'c'], dissenters: ['a'] })
  })

  it('takes the value from the agreeing group, not from the dissenter', () => {
    const result = agree([answer('a', { v: 'liar' }, 'y'), answer('b', { v: 'honest' }, 'x'), answer('c', { v: 'honest' }, 'x')], 2)
    expect(result.agreed && result.value).toEqual({ v: 'honest' })
  })

  it('groups by fingerprint, not by value', () => {
    // Same value, different fingerprints: not the same answer.
    const result = agree([answer('a', 10, 'x'), answer('b', 10, 'y'), answer('c', 10, 'z')], 2)
    expect(result.agreed).toBe(false)
    // Different values, same fingerprint: counted as one answer.
    const same = agree([answer('a', 1, 'x'), answer('b', 2, 'x')], 2)
    expect(same).toMatchObject({ agreed: true, providers: ['a', 'b'] })
  })

  it('does not agree when all three answers differ, and reports every group', () => {
    const result = agree([answer('a', 1, 'x'), answer('b', 2, 'y'), answer('c', 3, 'z')], 2)
    expect(result.agreed).toBe(false)
    if (result.agreed) return
    expect(result.groups).toHaveLength(3)
    expect(result.groups.map((g) => g.providers).sort()).toEqual([['a'], ['b'], ['c']])
    expect(result.groups.map((g) => g.fingerprint).sort()).toEqual(['x', 'y', 'z'])
  })

  it('does not agree with fewer answers than the quorum, even when they are unanimous', () => {
    expect(agree([answer('a', 1, 'x')], 2)).toEqual({ agreed: false, groups: [{ fingerprint: 'x', providers: ['a'] }] })
    expect(agree([answer('a', 1, 'x'), answer('b', 1, 'x')], 3).agreed).toBe(false)
  })

  it('does not agree on no answers at all', () => {
    expect(agree([], 2)).toEqual({ agreed: false, groups: [] })
    expect(agree([], 1)).toEqual({ agreed: false, groups: [] })
  })

  it('agrees on a lone answer when the quorum is 1', () => {
    expect(agree([answer('a', 1, 'x')], 1)).toEqual({ agreed: true, value: 1, providers: ['a'], dissenters: [] })
  })

  it('needs exactly quorum matching answers: 2 of 3 suffice for quorum 2, not for quorum 3', () => {
    const answers = [answer('a', 1, 'x'), answer('b', 1, 'x'), answer('c', 2, 'y')]
    expect(agree(answers, 2).agreed).toBe(true)
    const strict = agree(answers, 3)
    expect(strict.agreed).toBe(false)
    if (!strict.agreed) expect(strict.groups[0]).toEqual({ fingerprint: 'x', providers: ['a', 'b'] })
  })

  it('ranks groups largest first when nothing is agreed', () => {
    const result = agree([answer('a', 1, 'y'), answer('b', 2, 'x'), answer('c', 2, 'x')], 3)
    expect(result.agreed).toBe(false)
    if (!result.agreed) expect(result.groups).toEqual([{ fingerprint: 'x', providers: ['b', 'c'] }, { fingerprint: 'y', providers: ['a'] }])
  })

  it('never breaks a tie: quorum 2 of 4 split 2+2 is not agreed', () => {
    const result = agree([answer('a', 1, 'x'), answer('b', 2, 'y'), answer('c', 1, 'x'), answer('d', 2, 'y')], 2)
    expect(result.agreed).toBe(false)
    if (result.agreed) return
    expect(result.groups).toHaveLength(2)
    expect(result.groups.map((g) => g.providers.length)).toEqual([2, 2])
  })

  it('never breaks a tie whichever order the answers came in', () => {
    const result = agree([answer('a', 1, 'x'), answer('b', 1, 'x'), answer('c', 2, 'y'), answer('d', 2, 'y')], 2)
    expect(result.agreed).toBe(false)
  })

  it('never breaks a tie between two single answers at quorum 1', () => {
    expect(agree([answer('a', 1, 'x'), answer('b', 2, 'y')], 1).agreed).toBe(false)
  })

  it('with quorum 2 of 5, a strict plurality agrees and lists every other provider as dissenter', () => {
    const result = agree([answer('a', 1, 'x'), answer('b', 2, 'y'), answer('c', 1, 'x'), answer('d', 2, 'y'), answer('e', 1, 'x')], 2)
    expect(result.agreed).toBe(true)
    if (!result.agreed) return
    expect(result.providers).toEqual(['a', 'c', 'e'])
    expect(result.dissenters.sort()).toEqual(['b', 'd'])
  })

  it('lists dissenters from every losing group', () => {
    const result = agree([answer('a', 1, 'x'), answer('b', 2, 'y'), answer('c', 1, 'x'), answer('d', 3, 'z'), answer('e', 1, 'x')], 3)
    expect(result.agreed).toBe(true)
    if (result.agreed) expect(result.dissenters.sort()).toEqual(['b', 'd'])
  })
})

type RangeAnswer = { provider: string; observation: RangeObservation }

/** Three providers; `liar` replaces one provider's observation. */
function threeWay(honest: RangeObservation, liar: RangeObservation, liarName = 'b'): RangeAnswer[] {
  return ['a', 'b', 'c'].map((provider) => ({ provider, observation: provider === liarName ? liar : structuredClone(honest) }))
}

describe('agreeOnRange', () => {
  const honestLogs = [log(1), log(2), log(3)]
  const honest: RangeObservation = { logs: honestLogs, endHash: hash(0xe1d), checkpointHash: hash(0xc4) }

  it('agrees when all three providers saw the same range', () => {
    const result = agreeOnRange(threeWay(honest, structuredClone(honest)), 2)
    expect(result.agreed).toBe(true)
    if (!result.agreed) return
    expect(result.providers).toEqual(['a', 'b', 'c'])
    expect(result.dissenters).toEqual([])
    expect(result.observation).toEqual(honest)
    expect(result.witnesses).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ])
  })

  it('agrees on an empty range', () => {
    const empty: RangeObservation = { logs: [], endHash: hash(0xe1d) }
    const result = agreeOnRange(threeWay(empty, structuredClone(empty)), 2)
    expect(result).toMatchObject({ agreed: true, witnesses: [], providers: ['a', 'b', 'c'], dissenters: [] })
  })

  it('does not agree when one provider saw no logs and another saw one, and the third differs again', () => {
    const result = agreeOnRange(
      [
        { provider: 'a', observation: { logs: [], endHash: hash(1) } },
        { provider: 'b', observation: { logs: [log(1)], endHash: hash(1) } },
        { provider: 'c', observation: { logs: [log(2)], endHash: hash(1) } },
      ],
      2,
    )
    expect(result.agreed).toBe(false)
    if (!result.agreed) expect(result.groups).toHaveLength(3)
  })

  describe('one liar among three: the honest pair agrees and the liar dissents', () => {
    const cases: [string, RangeObservation][] = [
      ['alters the data (amount) of one log', { ...honest, logs: [log(1), log(2, { data: hash(999_999) }), log(3)] }],
      ['alters the recipient topic of one log', { ...honest, logs: [log(1), log(2, { topics: [TRANSFER_TOPIC, log(2).topics[1]!, hash(0xbad)] }), log(3)] }],
      ['alters the token address of one log', { ...honest, logs: [log(1), log(2, { address: addr(0xbad) }), log(3)] }],
      ['moves one log to another log index', { ...honest, logs: [log(1), log(2, { logIndex: 77 }), log(3)] }],
      ['moves one log to another block number', { ...honest, logs: [log(1), log(2, { blockNumber: 777 }), log(3)] }],
      ['attributes one log to another transaction', { ...honest, logs: [log(1), log(2, { txHash: hash(0xbad) }), log(3)] }],
      ['fabricates an extra log', { ...honest, logs: [log(1), log(2), log(3), log(4)] }],
      ['omits a log', { ...honest, logs: [log(1), log(3)] }],
      ['omits every log', { ...honest, logs: [] }],
      ['reports one log in a block with a different hash', { ...honest, logs: [log(1), log(2, { blockHash: hash(0xf0f) }), log(3)] }],
      ['reports a different end hash', { ...honest, endHash: hash(0xf0f) }],
      ['reports no end hash', { logs: honestLogs, checkpointHash: honest.checkpointHash }],
      ['reports a different checkpoint hash', { ...honest, checkpointHash: hash(0xf0f) }],
      ['reports no checkpoint hash', { logs: honestLogs, endHash: honest.endHash }],
      ['duplicates a log', { ...honest, logs: [log(1), log(2), log(2), log(3)] }],
    ]

    for (const liarName of ['a', 'b', 'c']) {
      it.each(cases)(`liar %s (liar is provider ${liarName})`, (_, liar) => {
        const result = agreeOnRange(threeWay(honest, liar, liarName), 2)
        expect(result.agreed).toBe(true)
        if (!result.agreed) return
        expect(result.dissenters).toEqual([liarName])
        expect(result.providers).toEqual(['a', 'b', 'c'].filter((p) => p !== liarName))
        expect(result.observation).toEqual(honest)
      })
    }

    it.each(cases)('with quorum 3, a liar who %s prevents agreement', (_, liar) => {
      const result = agreeOnRange(threeWay(honest, liar), 3)
      expect(result.agreed).toBe(false)
      if (!result.agreed) expect(result.groups.map((g) => g.providers)).toEqual([['a', 'c'], ['b']])
    })
  })

  it('does not mind the order of logs inside an answer', () => {
    const result = agreeOnRange(
      [
        { provider: 'a', observation: { logs: [log(1), log(2), log(3)], endHash: hash(1) } },
        { provider: 'b', observation: { logs: [log(3), log(1), log(2)], endHash: hash(1) } },
        { provider: 'c', observation: { logs: [log(2), log(3), log(1)], endHash: hash(1) } },
      ],
      3,
    )
    expect(result.agreed).toBe(true)
    if (!result.agreed) return
    expect(result.dissenters).toEqual([])
    // Witnesses follow the agreed observation's own log order.
    expect(result.observation.logs.map((l) => l.logIndex)).toEqual([1, 2, 3])
    expect(result.witnesses).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ])
  })

  it('treats an answer without hashes differently from one with them', () => {
    const result = agreeOnRange(
      [
        { provider: 'a', observation: { logs: [log(1)] } },
        { provider: 'b', observation: { logs: [log(1)], endHash: hash(1) } },
        { provider: 'c', observation: { logs: [log(1)], checkpointHash: hash(1) } },
      ],
      2,
    )
    expect(result.agreed).toBe(false)
  })

  it('does not confuse the checkpoint hash with the end hash', () => {
    const result = agreeOnRange(
      [
        { provider: 'a', observation: { logs: [], checkpointHash: hash(1), endHash: hash(2) } },
        { provider: 'b', observation: { logs: [], checkpointHash: hash(2), endHash: hash(1) } },
      ],
      2,
    )
    expect(result.agreed).toBe(false)
  })

  it('agrees when hashes are absent for everyone (explicit undefined or missing)', () => {
    const result = agreeOnRange(
      [
        { provider: 'a', observation: { logs: [log(1)] } },
        { provider: 'b', observation: { logs: [log(1)], endHash: undefined, checkpointHash: undefined } },
      ],
      2,
    )
    expect(result).toMatchObject({ agreed: true, providers: ['a', 'b'] })
  })

  it('counts a dissenter as witness of every log it returned identically', () => {
    // b altered log 2 only: it still witnesses logs 1 and 3.
    const liar: RangeObservation = { ...honest, logs: [log(1), log(2, { data: hash(999_999) }), log(3)] }
    const result = agreeOnRange(threeWay(honest, liar), 2)
    expect(result.agreed).toBe(true)
    if (!result.agreed) return
    expect(result.dissenters).toEqual(['b'])
    const byIndex = new Map(result.observation.logs.map((l, i) => [l.logIndex, result.witnesses[i]]))
    expect(byIndex.get(1)).toEqual(['a', 'b', 'c'])
    expect(byIndex.get(2)).toEqual(['a', 'c'])
    expect(byIndex.get(3)).toEqual(['a', 'b', 'c'])
  })

  it('counts a dissenter whose end hash differs as witness of the identical logs', () => {
    const result = agreeOnRange(threeWay(honest, { ...honest, endHash: hash(0xf0f) }, 'c'), 2)
    expect(result.agreed).toBe(true)
    if (result.agreed) expect(result.witnesses).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ])
  })

  it('does not count a dissenter that omitted a log as its witness', () => {
    const result = agreeOnRange(threeWay(honest, { ...honest, logs: [log(3), log(1)] }, 'a'), 2)
    expect(result.agreed).toBe(true)
    if (!result.agreed) return
    const witnessOf = (index: number) => result.witnesses[result.observation.logs.findIndex((l) => l.logIndex === index)]
    expect(witnessOf(1)).toEqual(['a', 'b', 'c'])
    expect(witnessOf(2)).toEqual(['b', 'c'])
    expect(witnessOf(3)).toEqual(['a', 'b', 'c'])
  })

  it('does not count a dissenter whose copy of a log is in a different block hash as witness of that log', () => {
    const result = agreeOnRange(threeWay(honest, { ...honest, logs: honestLogs.map((l) => ({ ...l, blockHash: hash(0xf0f) })) }, 'c'), 2)
    expect(result.agreed).toBe(true)
    if (result.agreed) expect(result.witnesses).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ])
  })

  it('a fabricated log appears in no agreed observation and no witness list', () => {
    const fabricated = log(4)
    const result = agreeOnRange(threeWay(honest, { ...honest, logs: [...honestLogs, fabricated] }, 'c'), 2)
    expect(result.agreed).toBe(true)
    if (!result.agreed) return
    expect(result.observation.logs.map(logFingerprint)).not.toContain(logFingerprint(fabricated))
    expect(result.witnesses).toHaveLength(3)
  })

  it('lists witnesses in answer order, across four providers', () => {
    const result = agreeOnRange(
      [
        { provider: 'p4', observation: { logs: [log(1)], endHash: hash(1) } },
        { provider: 'p1', observation: { logs: [log(1), log(2)], endHash: hash(1) } },
        { provider: 'p3', observation: { logs: [log(2), log(1)], endHash: hash(1) } },
        { provider: 'p2', observation: { logs: [log(2), log(1)], endHash: hash(1) } },
      ],
      3,
    )
    expect(result.agreed).toBe(true)
    if (!result.agreed) return
    expect(result.providers).toEqual(['p1', 'p3', 'p2'])
    expect(result.dissenters).toEqual(['p4'])
    expect(result.observation.logs.map((l) => l.logIndex)).toEqual([1, 2])
    expect(result.witnesses).toEqual([
      ['p4', 'p1', 'p3', 'p2'],
      ['p1', 'p3', 'p2'],
    ])
  })

  it('never breaks a tie between two pairs of four providers', () => {
    const result = agreeOnRange(
      [
        { provider: 'a', observation: { logs: [log(1)], endHash: hash(1) } },
        { provider: 'b', observation: { logs: [log(1, { data: hash(5) })], endHash: hash(1) } },
        { provider: 'c', observation: { logs: [log(1)], endHash: hash(1) } },
        { provider: 'd', observation: { logs: [log(1, { data: hash(5) })], endHash: hash(1) } },
      ],
      2,
    )
    expect(result.agreed).toBe(false)
  })

  it('two providers lying identically outvote the honest one (quorum is what it is)', () => {
    const lie: RangeObservation = { ...honest, logs: [log(1), log(2, { data: hash(999_999) }), log(3)] }
    const result = agreeOnRange(
      [
        { provider: 'a', observation: honest },
        { provider: 'b', observation: structuredClone(lie) },
        { provider: 'c', observation: structuredClone(lie) },
      ],
      2,
    )
    expect(result).toMatchObject({ agreed: true, providers: ['b', 'c'], dissenters: ['a'], observation: lie })
  })
})
