import { describe, expect, it } from 'vitest'
import { foldDeadLetters, type DeadLetterLine } from '../../src/delivery/dead-letter.ts'
import { testDeadLetter as letter, testReplayMark as mark } from '../support/dead-letter.ts'

describe('foldDeadLetters', () => {
  it('returns [] for no lines', () => {
    expect(foldDeadLetters([])).toEqual([])
  })

  it('gives one view per webhook id, with replayed_at null when never replayed', () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    const b = letter('wh_b', '2030-01-01T02:00:00.000Z', { merchant_id: 'm2' })
    expect(foldDeadLetters([a, b])).toEqual([
      { ...a, replayed_at: null },
      { ...b, replayed_at: null },
    ])
  })

  it('counts a dead letter written twice once, with the content of the later copy', () => {
    const first = letter('wh_a', '2030-01-01T01:00:00.000Z')
    const again = letter('wh_a', '2030-01-01T01:00:05.000Z', { attempts: 9 })
    const views = foldDeadLetters([first, again])
    expect(views).toHaveLength(1)
    expect(views[0]).toEqual({ ...again, replayed_at: null })
  })

  it('sets replayed_at from a replay mark', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z')])
    expect(views).toHaveLength(1)
    expect(views[0]!.replayed_at).toBe('2030-01-02T00:00:00.000Z')
  })

  it('marks only the letter the replay names', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), letter('wh_b', '2030-01-01T02:00:00.000Z'), mark('wh_b', '2030-01-02T00:00:00.000Z')])
    expect(views.map((v) => [v.webhook_id, v.replayed_at])).toEqual([
      ['wh_a', null],
      ['wh_b', '2030-01-02T00:00:00.000Z'],
    ])
  })

  it('keeps the latest replay when a letter was replayed twice', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z'), mark('wh_a', '2030-01-03T00:00:00.000Z')])
    expect(views[0]!.replayed_at).toBe('2030-01-03T00:00:00.000Z')
  })

  it('ignores a replay mark for an unknown id', () => {
    const a = letter('wh_a', '2030-01-01T01:00:00.000Z')
    expect(foldDeadLetters([a, mark('wh_unknown', '2030-01-02T00:00:00.000Z')])).toEqual([{ ...a, replayed_at: null }])
    expect(foldDeadLetters([mark('wh_unknown', '2030-01-02T00:00:00.000Z')])).toEqual([])
  })

  it('ignores a replay mark that comes before its letter in the file', () => {
    const views = foldDeadLetters([mark('wh_a', '2030-01-01T00:00:00.000Z'), letter('wh_a', '2030-01-01T01:00:00.000Z')])
    expect(views).toHaveLength(1)
    expect(views[0]!.replayed_at).toBeNull()
  })

  it('keeps an earlier replay when the letter is written again afterwards', () => {
    const views = foldDeadLetters([letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z'), letter('wh_a', '2030-01-01T01:00:05.000Z')])
    expect(views).toHaveLength(1)
    expect(views[0]!.dead_at).toBe('2030-01-01T01:00:05.000Z')
    expect(views[0]!.replayed_at).toBe('2030-01-02T00:00:00.000Z')
  })

  it('orders the views by death (file order), a rewritten letter taking its later place', () => {
    const lines: DeadLetterLine[] = [
      letter('wh_a', '2030-01-01T01:00:00.000Z'),
      letter('wh_b', '2030-01-01T02:00:00.000Z'),
      mark('wh_a', '2030-01-01T02:30:00.000Z'),
      letter('wh_c', '2030-01-01T03:00:00.000Z'),
      letter('wh_a', '2030-01-01T04:00:00.000Z'),
      letter('wh_d', '2030-01-01T05:00:00.000Z'),
    ]
    expect(foldDeadLetters(lines).map((v) => v.webhook_id)).toEqual(['wh_b', 'wh_c', 'wh_a', 'wh_d'])
  })

  it('does not mutate the lines it folds', () => {
    const lines: DeadLetterLine[] = [letter('wh_a', '2030-01-01T01:00:00.000Z'), mark('wh_a', '2030-01-02T00:00:00.000Z')]
    const before = structuredClone(lines)
    foldDeadLetters(lines)
    expect(lines).toEqual(before)
    expect('replayed_at' in lines[0]!).toBe(false)
  })
})
