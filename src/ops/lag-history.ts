/** Where the reader stood at one moment: what the console's lag chart draws. */
export type LagSample = { at: number; checkpoint: number; head: number | null; lag: number | null }

export type LagHistoryOptions = {
  /** How far back the history reaches: the console's chart shows the last hour. */
  windowMs?: number
  /** One sample is kept per interval (the latest reading in it), whatever the reader's poll rate. */
  intervalMs?: number
}

export const LAG_WINDOW_MS = 60 * 60 * 1000
export const LAG_INTERVAL_MS = 2_000

/**
 * The lag of the last hour, in memory, in a ring of fixed size: `windowMs / intervalMs + 1`
 * slots, allocated once, so a daemon that runs for months holds the same few thousand samples.
 * Each interval keeps its latest reading (a round every 50 ms or every minute gives the same
 * shape); a reading older than the newest slot starts a slot of its own, so a clock that steps
 * back never rewrites history. No clock inside: the caller says when each sample was taken.
 */
export class LagHistory {
  readonly windowMs: number
  readonly intervalMs: number
  readonly capacity: number
  readonly #slots: (LagSample | undefined)[]
  /** When the newest slot's interval began (its first reading). */
  #slotStart = Number.NEGATIVE_INFINITY
  /** Index of the newest slot; -1 while empty. */
  #newest = -1
  #size = 0

  constructor(options: LagHistoryOptions = {}) {
    this.windowMs = options.windowMs ?? LAG_WINDOW_MS
    this.intervalMs = options.intervalMs ?? LAG_INTERVAL_MS
    if (!(this.windowMs > 0) || !(this.intervalMs > 0) || this.intervalMs > this.windowMs) {
      throw new RangeError(`LagHistory needs 0 < intervalMs <= windowMs, got intervalMs ${this.intervalMs}, windowMs ${this.windowMs}`)
    }
    this.capacity = Math.ceil(this.windowMs / this.intervalMs) + 1
    this.#slots = new Array<LagSample | undefined>(this.capacity).fill(undefined)
  }

  /** Keeps `sample`: it replaces the newest one when it falls in the same interval, else it takes the next slot (the oldest leaves when full). */
  record(sample: LagSample): void {
    if (this.#size > 0 && sample.at >= this.#slotStart && sample.at - this.#slotStart < this.intervalMs) {
      this.#slots[this.#newest] = sample
      return
    }
    this.#newest = (this.#newest + 1) % this.capacity
    this.#slots[this.#newest] = sample
    this.#slotStart = sample.at
    this.#size = Math.min(this.#size + 1, this.capacity)
  }

  /** The samples taken in the window that ends at `nowMs`, oldest first. */
  window(nowMs: number): LagSample[] {
    const since = nowMs - this.windowMs
    const out: LagSample[] = []
    for (let i = this.#size - 1; i >= 0; i--) {
      const sample = this.#slots[(this.#newest - i + this.capacity) % this.capacity]!
      if (sample.at > since && sample.at <= nowMs) out.push(sample)
    }
    return out
  }
}
