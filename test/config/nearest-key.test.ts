import { describe, expect, it } from 'vitest'
import { editDistance, nearestKey } from '../../src/config/nearest-key.ts'

describe('nearestKey', () => {
  const chainKeys = ['id', 'confirmations', 'start_block', 'poll_interval_ms', 'max_block_range', 'reorg_window']
  const cases: [string, readonly string[], string | undefined][] = [
    ['confirmation', chainKeys, 'confirmations'],
    ['confirmatoins', chainKeys, 'confirmations'],
    ['poll_interval', chainKeys, 'poll_interval_ms'], // three edits: the most a long key allows
    ['poll_intervl_ms', chainKeys, 'poll_interval_ms'],
    ['start-block', chainKeys, 'start_block'],
    ['Start_Block', chainKeys, 'start_block'],
    ['qorum', ['chain', 'providers', 'quorum', 'breaker'], 'quorum'],
    ['qourum', ['chain', 'providers', 'quorum', 'breaker'], 'quorum'],
    ['colour', chainKeys, undefined],
    ['x', chainKeys, undefined],
    ['ix', chainKeys, 'id'],
    ['anything', [], undefined],
  ]
  for (const [unknown, known, expected] of cases) {
    it(`${unknown} → ${expected ?? 'no suggestion'}`, () => expect(nearestKey(unknown, known)).toBe(expected))
  }
})

describe('editDistance', () => {
  const cases: [string, string, number][] = [
    ['', '', 0],
    ['abc', 'abc', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['ab', 'ba', 1],
    ['quorum', 'qourum', 1],
    ['confirmation', 'confirmations', 1],
  ]
  for (const [a, b, distance] of cases) it(`${a || '""'} ↔ ${b || '""'} = ${distance}`, () => expect([editDistance(a, b), editDistance(b, a)]).toEqual([distance, distance]))
})
