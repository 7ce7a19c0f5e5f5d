import { ExponentialBackoff, type IBackoff } from 'cockatiel'
import type pg from 'pg'
import type { ChainState } from '../../chain/chain-state.ts'
import type { OutboxEntry } from '../../delivery/outbox-entry.ts'
import type { Invoice } from '../../settlement/invoice.ts'
import { openInvoiceKey, type PendingOutboxQuery, type ProcessedTransfer, type StoreReader, type StoreTx } from '../store.ts'
import { classifyPostgresError, type PostgresFailure } from './classify-error.ts'
import {
  selectChainState,
  selectCounts,
  selectDueOutbox,
  selectInvoices,
  selectOpenInvoices,
  selectOutboxEntries,
  selectPendingOutbox,
  selectProcessedTransfers,
  selectReplayRecorded,
  type Queryable,
} from './queries.ts'

/** A transaction aborted by a conflict (40001, 40P01) runs again, at most this many times in all. */
export const MAX_TRANSACTION_ATTEMPTS = 30
/** Waits between runs: exponential with jitter, so transactions that collided do not collide again. */
const CONFLICT_BACKOFF = new ExponentialBackoff({ initialDelay: 4, maxDelay: 500 })

/** The puts of one run of a transaction, kept in memory until it commits. */
export class StagedWrites {
  chain: ChainState | undefined
  readonly invoices = new Map<string, Invoice>()
  readonly outbox = new Map<string, OutboxEntry>()
  readonly processed = new Map<string, readonly ProcessedTransfer[]>()
  readonly replayed = new Set<string>()

  get isEmpty(): boolean {
    return this.chain === undefined && this.invoices.size === 0 && this.outbox.size === 0 && this.processed.size === 0 && this.replayed.size === 0
  }
}

/**
 * Writes the staged puts set-based: one statement (one round trip) per table that changed,
 * each taking the whole batch as one JSON array, however many rows it holds.
 */
export async function writeStaged(q: Queryable, staged: StagedWrites): Promise<void> {
  // The transfers claimed first: a concurrent transaction that handled the same transfer then
  // fails here as a serialization conflict (and runs again, seeing it handled), not later on
  // the settled-transfer UNIQUE index as a refusal.
  if (staged.processed.size > 0) {
    // An empty list means "never handled": its row goes (a reorg took the last one back).
    await q.query(
      `WITH input AS (SELECT key AS identity, value AS transfers FROM jsonb_each($1::jsonb)),
            gone AS (DELETE FROM processed_transfers p USING input i WHERE p.identity = i.identity AND jsonb_array_length(i.transfers) = 0)
       INSERT INTO processed_transfers (identity, transfers)
       SELECT identity, transfers FROM input WHERE jsonb_array_length(transfers) > 0
       ON CONFLICT (identity) DO UPDATE SET transfers = EXCLUDED.transfers`,
      [JSON.stringify(Object.fromEntries(staged.processed))],
    )
  }
  if (staged.outbox.size > 0) {
    await q.query('INSERT INTO outbox (body) SELECT value FROM jsonb_array_elements($1::jsonb) ON CONFLICT (webhook_id) DO UPDATE SET body = EXCLUDED.body', [JSON.stringify([...staged.outbox.values()])])
  }
  if (staged.invoices.size > 0) {
    await q.query('INSERT INTO invoices (body) SELECT value FROM jsonb_array_elements($1::jsonb) ON CONFLICT (uuid) DO UPDATE SET body = EXCLUDED.body', [JSON.stringify([...staged.invoices.values()])])
  }
  if (staged.replayed.size > 0) {
    await q.query('INSERT INTO replayed_events (webhook_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [[...staged.replayed]])
  }
  if (staged.chain !== undefined) {
    await q.query('INSERT INTO chain_state (singleton, state) VALUES (true, $1::jsonb) ON CONFLICT (singleton) DO UPDATE SET state = EXCLUDED.state', [JSON.stringify(staged.chain)])
  }
}

const isPending = (entry: OutboxEntry) => entry.state !== 'delivered' && entry.state !== 'dead'
const olderOutbox = (a: OutboxEntry, b: OutboxEntry) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.webhookId < b.webhookId ? -1 : a.webhookId > b.webhookId ? 1 : 0)
const olderInvoice = (a: Invoice, b: Invoice) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0)
const afterCursor = (entry: OutboxEntry, after: PendingOutboxQuery['after']) => after === undefined || olderOutbox({ createdAt: after.createdAt, webhookId: after.webhookId } as OutboxEntry, entry) < 0

/**
 * The reads over `q`, with `staged` laid over the database: a transaction reads what it wrote.
 * A batch read still costs one query; a row the transaction staged is answered from the stage.
 * `counts` writes the stage under a savepoint, counts, and rolls the savepoint back, so the
 * totals come from the same triggers as at commit. With an empty stage, plain reads.
 */
export function readerOver(q: Queryable, staged: StagedWrites): StoreReader {
  return {
    getChainState: async () => staged.chain ?? (await selectChainState(q)),
    getInvoice: async (uuid) => staged.invoices.get(uuid) ?? (await selectInvoices(q, [uuid])).get(uuid),
    openInvoices: async (keys) => {
      const found = await selectOpenInvoices(q, keys)
      const wanted = new Set(keys.map(openInvoiceKey))
      const answer = new Map<string, Invoice[]>()
      for (const [key, invoices] of found) answer.set(key, invoices.filter((invoice) => !staged.invoices.has(invoice.uuid)))
      for (const invoice of staged.invoices.values()) {
        const key = openInvoiceKey(invoice)
        if (invoice.status !== 'open' || !wanted.has(key)) continue
        const list = answer.get(key)
        if (list === undefined) answer.set(key, [invoice])
        else list.push(invoice)
      }
      for (const [key, invoices] of answer) {
        if (invoices.length === 0) answer.delete(key)
        else invoices.sort(olderInvoice)
      }
      return answer
    },
    getOutboxEntries: async (webhookIds) => {
      const found = await selectOutboxEntries(q, webhookIds.filter((id) => !staged.outbox.has(id)))
      for (const id of webhookIds) {
        const entry = staged.outbox.get(id)
        if (entry !== undefined) found.set(id, entry)
      }
      return found
    },
    // The database's first `limit + staged` rows hold every row of the answer that the stage did not change.
    dueOutboxEntries: async (nowMs, limit, skip) => {
      const stored = await selectDueOutbox(q, nowMs, limit + staged.outbox.size, skip)
      const due = stored.filter((entry) => !staged.outbox.has(entry.webhookId))
      for (const entry of staged.outbox.values()) if (isPending(entry) && entry.nextAttemptAt <= nowMs && !skip?.has(entry.merchantId)) due.push(entry)
      return due.sort(olderOutbox).slice(0, limit)
    },
    processedTransfers: async (identities) => {
      const found = await selectProcessedTransfers(
        q,
        identities.filter((identity) => !staged.processed.has(identity)),
      )
      for (const identity of identities) {
        const transfers = staged.processed.get(identity)
        if (transfers === undefined) continue
        if (transfers.length === 0) found.delete(identity)
        else found.set(identity, transfers)
      }
      return found
    },
    listPendingOutbox: async (query) => {
      const states = new Set(query.states ?? ['queued', 'in_flight', 'retrying'])
      const stored = await selectPendingOutbox(q, query, query.limit + 1 + staged.outbox.size)
      const page = stored.filter((entry) => !staged.outbox.has(entry.webhookId))
      for (const entry of staged.outbox.values()) {
        if (isPending(entry) && states.has(entry.state as never) && (query.merchantId === undefined || entry.merchantId === query.merchantId) && afterCursor(entry, query.after)) page.push(entry)
      }
      page.sort(olderOutbox)
      const entries = page.slice(0, query.limit)
      const last = entries.at(-1)
      return { entries, next: page.length > query.limit && last !== undefined ? { createdAt: last.createdAt, webhookId: last.webhookId } : null }
    },
    isReplayRecorded: async (webhookId) => staged.replayed.has(webhookId) || (await selectReplayRecorded(q, webhookId)),
    counts: async (nowMs) => {
      if (staged.isEmpty) return await selectCounts(q, nowMs ?? Date.now())
      await q.query('SAVEPOINT settleproof_counts')
      try {
        await writeStaged(q, staged)
        return await selectCounts(q, nowMs ?? Date.now())
      } finally {
        await q.query('ROLLBACK TO SAVEPOINT settleproof_counts')
      }
    },
  }
}

/** What a transaction's function gets: the reads (seeing its own puts) and the puts, staged until commit. */
export function transactionView(q: Queryable, staged: StagedWrites): StoreTx {
  return {
    ...readerOver(q, staged),
    putChainState: (state) => void (staged.chain = state),
    putInvoice: (invoice) => void staged.invoices.set(invoice.uuid, invoice),
    putOutboxEntry: (entry) => void staged.outbox.set(entry.webhookId, entry),
    putProcessedTransfers: (identity, transfers) => void staged.processed.set(identity, [...transfers]),
    putReplayed: (webhookId) => void staged.replayed.add(webhookId),
  }
}

/** What ended a transaction that did not commit, for the store to act on. */
export type TransactionFailure =
  /** The database failed (classified); `error` is the driver's error. */
  | { kind: 'database'; failure: PostgresFailure; error: unknown; attempts: number }
  /** The function itself threw (a bug, or a decision to abort): nothing was written. */
  | { kind: 'function'; error: unknown }

export class TransactionFailed extends Error {
  readonly failure: TransactionFailure
  constructor(failure: TransactionFailure) {
    super('transaction failed')
    this.failure = failure
  }
}

/**
 * Runs `fn` as one SERIALIZABLE transaction on a connection from `connect`: PostgreSQL then
 * guarantees the outcome of running it alone (the seam's promise), aborting one of two
 * transactions that would otherwise interleave. An aborted run (40001, 40P01) is thrown away
 * whole (its stage with it) and `fn` runs again after a backoff, up to MAX_TRANSACTION_ATTEMPTS
 * runs. Puts are written set-based just before COMMIT.
 * @throws {TransactionFailed} with what ended it (the store maps it to its errors).
 */
export async function runTransaction<T>(connect: () => Promise<pg.PoolClient>, fn: (tx: StoreTx) => Promise<T> | T): Promise<T> {
  let backoff: IBackoff<unknown> | undefined
  for (let attempt = 1; ; attempt++) {
    const outcome = await runOnce(await connect(), fn)
    if ('result' in outcome) return outcome.result
    const { failure } = outcome
    if (failure.kind === 'database' && failure.failure.kind === 'conflict' && attempt < MAX_TRANSACTION_ATTEMPTS) {
      backoff = backoff === undefined ? CONFLICT_BACKOFF.next() : backoff.next(undefined)
      await new Promise((resolve) => setTimeout(resolve, backoff!.duration))
      continue
    }
    throw new TransactionFailed(failure.kind === 'database' ? { ...failure, attempts: attempt } : failure)
  }
}

/** One run of `fn` in its own transaction on `client`, released (or destroyed, when broken) before it returns. */
async function runOnce<T>(client: pg.PoolClient, fn: (tx: StoreTx) => Promise<T> | T): Promise<{ result: T } | { failure: TransactionFailure }> {
  const driverErrors = new WeakSet<object>()
  // Failures of the driver are told apart from failures of `fn` itself.
  const q: Queryable = {
    query: (text, values) =>
      client.query(text, values).catch((error: unknown) => {
        if (typeof error === 'object' && error !== null) driverErrors.add(error)
        throw error
      }),
  }
  const isDriverError = (error: unknown) => typeof error === 'object' && error !== null && driverErrors.has(error)
  let broken = false
  const rollBack = () => client.query('ROLLBACK').catch(() => void (broken = true))
  try {
    await q.query('BEGIN ISOLATION LEVEL SERIALIZABLE')
    const staged = new StagedWrites()
    let result: T
    try {
      result = await fn(transactionView(q, staged))
    } catch (error) {
      if (isDriverError(error)) throw error
      await rollBack()
      return { failure: { kind: 'function', error } }
    }
    if (!staged.isEmpty) await writeStaged(q, staged)
    const commit = await q.query('COMMIT')
    // A statement failed inside and `fn` caught it: the server ends such a transaction with a ROLLBACK, silently.
    if (commit.command !== 'COMMIT') return { failure: { kind: 'function', error: new Error(`the transaction was rolled back (${commit.command}): a statement in it failed and the error was caught`) } }
    return { result }
  } catch (error) {
    const failure = classifyPostgresError(error)
    if (failure.kind === 'unavailable') broken = true
    else await rollBack()
    return { failure: { kind: 'database', failure, error, attempts: 0 } }
  } finally {
    client.release(broken ? true : undefined)
  }
}
