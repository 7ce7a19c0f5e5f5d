import { ExponentialBackoff, noJitterGenerator } from 'cockatiel'
import { describe, expect, it } from 'vitest'
import { StoreClosedError, StoreUnavailableError } from '../../src/store/errors.ts'
import { isStoreOutage, OutageBackoff, retryWhileUnavailable, STORE_OUTAGE_BACKOFF } from '../../src/store/outage-backoff.ts'

// The one retry policy of the loops that meet an unavailable store. Pure but for the waits,
// which are real timers of a few milliseconds (the backoff is injected to keep them short).

const exact = () => new OutageBackoff(new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000, generator: noJitterGenerator }))
const tiny = () => new OutageBackoff(new ExponentialBackoff({ initialDelay: 1, maxDelay: 4, generator: noJitterGenerator }))
const gone = () => new StoreUnavailableError('the connection was refused (ECONNREFUSED)')

describe('OutageBackoff', () => {
  it.each([
    [1, [200]],
    [3, [200, 400, 800]],
    [7, [200, 400, 800, 1_600, 3_200, 5_000, 5_000]],
  ])('%i failures in a row wait %j (doubling, capped at 5 s)', (failures, delays) => {
    const backoff = exact()
    expect(Array.from({ length: failures }, () => backoff.next())).toEqual(delays)
  })

  it('a success starts the next outage from the first delay again', () => {
    const backoff = exact()
    backoff.next()
    backoff.next()
    backoff.reset()
    expect(backoff.next()).toBe(200)
  })

  it('the default waits stay between a few milliseconds and 5 s, and grow on the whole', () => {
    const backoff = new OutageBackoff(STORE_OUTAGE_BACKOFF)
    const delays = Array.from({ length: 40 }, () => backoff.next())
    for (const delay of delays) expect(delay).toBeGreaterThan(0)
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(5_000)
    expect(Math.max(...delays.slice(20))).toBeGreaterThan(delays[0]!)
  })
})

describe('isStoreOutage', () => {
  it.each([
    ['StoreUnavailableError', gone(), true],
    ['StoreClosedError', new StoreClosedError('x'), false],
    ['a plain error', new Error('store unavailable: lookalike'), false],
    ['not an error', 'store unavailable', false],
  ])('%s → %s', (_, error, outage) => {
    expect(isStoreOutage(error)).toBe(outage)
  })
})

describe('retryWhileUnavailable', () => {
  it('tries again after each outage, telling each wait, until the step succeeds', async () => {
    let tries = 0
    const waits: [string, number][] = []
    const result = await retryWhileUnavailable(
      async () => {
        if (++tries < 4) throw gone()
        return 'open'
      },
      { backoff: tiny(), onRetry: (error, delayMs) => waits.push([error.code, delayMs]) },
    )
    expect(result).toBe('open')
    expect(tries).toBe(4)
    expect(waits).toEqual([
      ['STORE_UNAVAILABLE', 1],
      ['STORE_UNAVAILABLE', 2],
      ['STORE_UNAVAILABLE', 4],
    ])
  })

  it('any other error is thrown at once, untried', async () => {
    let tries = 0
    const refused = new StoreClosedError('x')
    await expect(
      retryWhileUnavailable(async () => {
        tries++
        throw refused
      }),
    ).rejects.toBe(refused)
    expect(tries).toBe(1)
  })

  it('an abort ends the wait at once with the last outage', async () => {
    const stop = new AbortController()
    const last = gone()
    const waiting = retryWhileUnavailable(
      async () => {
        throw last
      },
      // A wait far longer than any test: only the abort can end it.
      { signal: stop.signal, backoff: new OutageBackoff(new ExponentialBackoff({ initialDelay: 3_600_000, maxDelay: 3_600_000 })), onRetry: () => stop.abort() },
    )
    await expect(waiting).rejects.toBe(last)
  })
})
