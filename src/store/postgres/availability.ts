import type { IBackoff } from 'cockatiel'
import type { Logger } from '../../ops/logger.ts'
import { STORE_OUTAGE_BACKOFF } from '../outage-backoff.ts'
import type { StoreAvailability } from '../store.ts'

/** Probes of an unreachable database wait like every loop that meets it (the store's one outage backoff). */
const PROBE_BACKOFF = STORE_OUTAGE_BACKOFF

/**
 * Whether the database answers, as the store learns it: a failed connection or query makes it
 * unreachable (with the reason), any query that succeeds makes it reachable again. While it is
 * unreachable a background probe (`probe`, e.g. `SELECT 1`) retries with backoff, so the store
 * comes back by itself even when nothing else queries it. A connection the server cut while
 * idle only raises a suspicion: a probe runs at once, and only its failure counts.
 */
export class DatabaseAvailability {
  readonly #probe: () => Promise<string | null>
  readonly #logger: Logger
  #down: { reason: string; since: number } | null = null
  #timer: NodeJS.Timeout | null = null
  #probing = false
  #backoff: IBackoff<unknown> | undefined
  #stopped = false

  constructor(probe: () => Promise<string | null>, logger: Logger) {
    this.#probe = probe
    this.#logger = logger
  }

  get state(): StoreAvailability {
    return this.#down === null ? { available: true } : { available: false, reason: this.#down.reason }
  }

  /** A query succeeded. */
  reachable(): void {
    if (this.#down === null) return
    this.#logger.info({ down_ms: Date.now() - this.#down.since }, 'database reachable again')
    this.#down = null
    this.#backoff = undefined
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  /** A connection or query failed because the database cannot be reached; `reason` says why (never the URL). */
  unreachable(reason: string): void {
    if (this.#stopped) return
    if (this.#down === null) {
      this.#down = { reason, since: Date.now() }
      this.#logger.warn({ reason }, 'database unreachable: retrying with backoff')
    } else this.#down.reason = reason
    this.#schedule()
  }

  /** A connection was cut while idle: probe now, and count it unreachable only if the probe fails. */
  suspect(): void {
    if (this.#stopped || this.#down !== null) return
    void this.#runProbe()
  }

  /** No more probes (the store is closing). */
  stop(): void {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #schedule(): void {
    if (this.#timer !== null || this.#probing || this.#stopped) return
    this.#backoff = this.#backoff === undefined ? PROBE_BACKOFF.next(undefined) : this.#backoff.next(undefined)
    this.#timer = setTimeout(() => {
      this.#timer = null
      void this.#runProbe()
    }, this.#backoff.duration)
    this.#timer.unref() // a probe never keeps a process alive on its own
  }

  async #runProbe(): Promise<void> {
    if (this.#probing || this.#stopped) return
    this.#probing = true
    let failure: string | null
    try {
      failure = await this.#probe()
    } finally {
      this.#probing = false
    }
    if (this.#stopped) return
    if (failure === null) this.reachable()
    else this.unreachable(failure)
  }
}
