import { describe, expect, it } from 'vitest'
import { LagHistory, type LagSample } from '../../src/ops/lag-history.ts'

const sample = (at: number, lag = 0): LagSample => ({ at, checkpoint: 100 + at, head: 100 + at + lag, lag })

describe('LagHistory: a bounded ring of one sample per interval', () => {
  it('keeps one sample per interval, the latest reading in it', () => {
    const history = new LagHistory({ windowMs: 10_000, intervalMs: 1_000 })
    for (const at of [0, 300, 999, 1_000, 1_500, 4_200]) history.record(sample(at))
    expect(history.window(5_000).map((s) => s.at)).toEqual([999, 1_500, 4_200])
  })

  it('holds at most windowMs / intervalMs + 1 samples however long it runs, the oldest leaving first', () => {
    const history = new LagHistory({ windowMs: 10_000, intervalMs: 1_000 })
    expect(history.capacity).toBe(11)
    for (let at = 0; at < 1_000_000; at += 1_000) history.record(sample(at, at % 7))
    const kept = history.window(999_000)
    expect(kept).toHaveLength(10) // the 11th slot is exactly windowMs old: out of the window
    expect(kept.map((s) => s.at)).toEqual(Array.from({ length: 10 }, (_, i) => 990_000 + i * 1_000))
  })

  it('answers only the samples of the window ending now, oldest first', () => {
    const history = new LagHistory({ windowMs: 10_000, intervalMs: 1_000 })
    for (const at of [0, 2_000, 5_000, 9_000]) history.record(sample(at))
    expect(history.window(9_000).map((s) => s.at)).toEqual([0, 2_000, 5_000, 9_000])
    expect(history.window(10_000).map((s) => s.at)).toEqual([2_000, 5_000, 9_000]) // exactly windowMs old: out
    expect(history.window(14_999).map((s) => s.at)).toEqual([5_000, 9_000])
    expect(history.window(30_000)).toEqual([]) // the reader stopped: nothing from the last window
  })

  it('a clock that steps back starts a new slot instead of rewriting the newest', () => {
    const history = new LagHistory({ windowMs: 10_000, intervalMs: 1_000 })
    history.record(sample(5_000, 1))
    history.record(sample(4_500, 2))
    expect(history.window(6_000).map((s) => [s.at, s.lag])).toEqual([[5_000, 1], [4_500, 2]])
  })

  it('an empty history has nothing; a lag the reader does not know yet is kept as null', () => {
    const history = new LagHistory()
    expect(history.window(Date.now())).toEqual([])
    history.record({ at: 1, checkpoint: 0, head: null, lag: null })
    expect(history.window(2)).toEqual([{ at: 1, checkpoint: 0, head: null, lag: null }])
  })

  it('refuses an interval longer than the window, or none', () => {
    expect(() => new LagHistory({ windowMs: 1_000, intervalMs: 2_000 })).toThrow(RangeError)
    expect(() => new LagHistory({ windowMs: 1_000, intervalMs: 0 })).toThrow(RangeError)
  })
})
