import type pg from 'pg'
import type { ChainState } from '../../chain/chain-state.ts'
import { OUTBOX_STATES, type OutboxEntry, type OutboxState } from '../../delivery/outbox-entry.ts'
import type { Invoice } from '../../settlement/invoice.ts'
import type { InvoiceCursor, InvoiceListQuery } from '../../settlement/invoice-list-query.ts'
import { openInvoiceKey, type OpenInvoiceKey, type PendingOutboxQuery, type PendingOutboxState, type ProcessedTransfer, type StoreCounts } from '../store.ts'
import { PENDING_STATES_SQL } from './migrations.ts'

/** A pool or one connection: what the reads run on. */
export type Queryable = { query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> }

/**
 * The store's reads, one query (one round trip) each, whatever the size of the batch. Hot
 * ones name the pending rows exactly as the partial indexes do (`status = 'open'`, the
 * pending outbox states), so the planner uses them and their cost does not grow with history.
 * Text columns are `COLLATE "C"`: orderings agree with JavaScript's string comparison.
 */

const PENDING_STATES: readonly PendingOutboxState[] = ['queued', 'in_flight', 'retrying']

export async function selectChainState(q: Queryable): Promise<ChainState | null> {
  const result = await q.query<{ state: ChainState }>('SELECT state FROM chain_state')
  return result.rows[0]?.state ?? null
}

export async function selectInvoices(q: Queryable, uuids: readonly string[]): Promise<Map<string, Invoice>> {
  if (uuids.length === 0) return new Map()
  const result = await q.query<{ body: Invoice }>('SELECT body FROM invoices WHERE uuid = ANY($1::text[])', [uuids])
  return new Map(result.rows.map((row) => [row.body.uuid, row.body]))
}

/** For each key, its open invoices, oldest first (by `createdAt`, then uuid); keys with none are absent. */
export async function selectOpenInvoices(q: Queryable, keys: readonly OpenInvoiceKey[]): Promise<Map<string, Invoice[]>> {
  const found = new Map<string, Invoice[]>()
  if (keys.length === 0) return found
  const result = await q.query<{ body: Invoice }>(
    `SELECT body FROM invoices
      WHERE status = 'open' AND (merchant_id, token, amount) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
      ORDER BY created_at, uuid`,
    [keys.map((k) => k.merchantId), keys.map((k) => k.token), keys.map((k) => k.amount)],
  )
  for (const { body } of result.rows) {
    const key = openInvoiceKey(body)
    const list = found.get(key)
    if (list === undefined) found.set(key, [body])
    else list.push(body)
  }
  return found
}

export async function selectOutboxEntries(q: Queryable, webhookIds: readonly string[]): Promise<Map<string, OutboxEntry>> {
  if (webhookIds.length === 0) return new Map()
  const result = await q.query<{ body: OutboxEntry }>(`SELECT body FROM outbox WHERE webhook_id = ANY($1::text[]) AND state IN ${PENDING_STATES_SQL}`, [webhookIds])
  return new Map(result.rows.map((row) => [row.body.webhookId, row.body]))
}

/** Pending entries due at `nowMs`, oldest first, without the merchants in `skip`. */
export async function selectDueOutbox(q: Queryable, nowMs: number, limit: number, skip: ReadonlySet<string> | undefined): Promise<OutboxEntry[]> {
  if (limit <= 0) return []
  const result = await q.query<{ body: OutboxEntry }>(
    `SELECT body FROM outbox
      WHERE state IN ${PENDING_STATES_SQL} AND next_attempt_at <= $1::double precision AND merchant_id <> ALL($3::text[])
      ORDER BY created_at, webhook_id LIMIT $2`,
    [nowMs, limit, [...(skip ?? [])]],
  )
  return result.rows.map((row) => row.body)
}

export async function selectProcessedTransfers(q: Queryable, identities: readonly string[]): Promise<Map<string, readonly ProcessedTransfer[]>> {
  if (identities.length === 0) return new Map()
  const result = await q.query<{ identity: string; transfers: ProcessedTransfer[] }>('SELECT identity, transfers FROM processed_transfers WHERE identity = ANY($1::text[])', [identities])
  return new Map(result.rows.map((row) => [row.identity, row.transfers]))
}

/** Up to `limit` pending entries matching the query after its cursor, oldest first (the caller pages). */
export async function selectPendingOutbox(q: Queryable, query: PendingOutboxQuery, limit: number): Promise<OutboxEntry[]> {
  const values: unknown[] = [[...(query.states ?? PENDING_STATES)], limit]
  const where = [`state IN ${PENDING_STATES_SQL}`, 'state = ANY($1::text[])']
  if (query.merchantId !== undefined) where.push(`merchant_id = $${values.push(query.merchantId)}`)
  if (query.after !== undefined) where.push(`(created_at, webhook_id) > ($${values.push(query.after.createdAt)}, $${values.push(query.after.webhookId)})`)
  const result = await q.query<{ body: OutboxEntry }>(`SELECT body FROM outbox WHERE ${where.join(' AND ')} ORDER BY created_at, webhook_id LIMIT $2`, values)
  return result.rows.map((row) => row.body)
}

export async function selectReplayRecorded(q: Queryable, webhookId: string): Promise<boolean> {
  const result = await q.query('SELECT 1 FROM replayed_events WHERE webhook_id = $1', [webhookId])
  return (result.rowCount ?? 0) > 0
}

/**
 * The totals: open and expired invoices and pending outbox entries counted over their partial
 * indexes (the pending set only), final ones summed from `final_counts` (kept by triggers).
 */
export async function selectCounts(q: Queryable, nowMs: number): Promise<StoreCounts> {
  const result = await q.query<{ open_total: string; expired: string; settled: string; delivered: string; dead: string; pending: [string, PendingOutboxState, number][] }>(
    `SELECT
        (SELECT count(*) FROM invoices WHERE status = 'open') AS open_total,
        (SELECT count(*) FROM invoices WHERE status = 'open' AND expires_at_ms <= $1::double precision) AS expired,
        f.settled, f.delivered, f.dead,
        (SELECT coalesce(jsonb_agg(jsonb_build_array(merchant_id, state, n)), '[]'::jsonb)
           FROM (SELECT merchant_id, state, count(*) AS n FROM outbox WHERE state IN ${PENDING_STATES_SQL} GROUP BY merchant_id, state) AS g) AS pending
      FROM (SELECT coalesce(sum(settled), 0) AS settled, coalesce(sum(delivered), 0) AS delivered, coalesce(sum(dead), 0) AS dead FROM final_counts) AS f`,
    [nowMs],
  )
  const row = result.rows[0]!
  const outbox = Object.fromEntries(OUTBOX_STATES.map((state) => [state, 0])) as Record<OutboxState, number>
  const queueDepth: Record<string, number> = {}
  for (const [merchantId, state, n] of row.pending) {
    outbox[state] += n
    queueDepth[merchantId] = (queueDepth[merchantId] ?? 0) + n
  }
  outbox.delivered = Number(row.delivered)
  outbox.dead = Math.max(0, Number(row.dead))
  const expired = Number(row.expired)
  return { invoices: { open: Number(row.open_total) - expired, expired, settled: Number(row.settled) }, outbox, queueDepth }
}

/** The conditions of each status filter, written as the partial indexes' predicates; `now()` adds the time parameter. */
const STATUS_CONDITIONS: Record<NonNullable<InvoiceListQuery['status']>, (now: () => string) => string> = {
  settled: () => `status = 'settled'`,
  open: (now) => `status = 'open' AND (expires_at_ms IS NULL OR expires_at_ms > ${now()})`,
  expired: (now) => `status = 'open' AND expires_at_ms <= ${now()}`,
}

/** One page of a merchant's invoices, newest first (`GET /v1/invoices`): a range of an index, whatever the history. */
export async function selectInvoicePage(q: Queryable, merchantId: string, query: InvoiceListQuery, nowMs: number): Promise<{ invoices: Invoice[]; next: InvoiceCursor | null }> {
  const values: unknown[] = [merchantId, query.limit + 1]
  const where = ['merchant_id = $1']
  if (query.status !== null) where.push(STATUS_CONDITIONS[query.status](() => `$${values.push(nowMs)}::double precision`))
  if (query.createdAfter !== null) where.push(`created_at > $${values.push(query.createdAfter)}`)
  if (query.createdBefore !== null) where.push(`created_at < $${values.push(query.createdBefore)}`)
  if (query.after !== null) where.push(`(created_at, uuid) < ($${values.push(query.after.createdAt)}, $${values.push(query.after.uuid)})`)
  const result = await q.query<{ body: Invoice }>(`SELECT body FROM invoices WHERE ${where.join(' AND ')} ORDER BY created_at DESC, uuid DESC LIMIT $2`, values)
  const invoices = result.rows.slice(0, query.limit).map((row) => row.body)
  const last = invoices.at(-1)
  return { invoices, next: result.rows.length > query.limit && last !== undefined ? { createdAt: last.createdAt, uuid: last.uuid } : null }
}
