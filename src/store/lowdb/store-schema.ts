import type { Address, Hex } from 'viem'
import { z } from 'zod'
import type { AcceptedLog } from '../../chain/log.ts'
import type { BlockRef, ChainState, PendingReorg } from '../../chain/chain-state.ts'
import type { OutboxEntry } from '../../delivery/outbox-entry.ts'
import type { WebhookData, WebhookPayload } from '../../delivery/webhook-payload.ts'
import type { DeliveryStatus, Invoice, Settlement } from '../../settlement/invoice.ts'
import type { ProcessedTransfer } from '../store.ts'

/*
 * The shape of what the lowdb backend reads back from disk (snapshot and journal records).
 * The types stay where they are defined (invoice.ts, outbox-entry.ts, chain-state.ts); each
 * schema here is checked against its type at compile time (`Same` below), so the two cannot
 * drift apart: a field added to a type without its schema fails `tsc`.
 */

const hexOf = <T extends Hex>(pattern: RegExp, message: string) => z.custom<T>((value) => typeof value === 'string' && pattern.test(value), { message })
const address = hexOf<Address>(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address')
const hash = hexOf<Hex>(/^0x[0-9a-fA-F]{64}$/, 'expected a 32-byte hex hash')
const hexData = hexOf<Hex>(/^0x([0-9a-fA-F]{2})*$/, 'expected hex bytes')
/** Token base units: JSON has no bigint, so amounts are decimal strings without leading zeros. */
const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/, 'expected a decimal string of base units')
const integer = z.number().int()
const count = z.number().int().nonnegative()
const text = z.string()
/** ISO-8601 instants; kept as text (their exact form is the writer's). */
const instant = z.string().min(1)

export const settlementSchema = z.object({
  txHash: hash,
  blockNumber: count,
  blockHash: hash,
  logIndex: count,
  from: address,
  to: address,
  providers: z.array(text),
  detectedAt: instant,
  settledAt: instant,
  webhookId: text,
})

export const deliveryStatusSchema = z.object({
  webhookId: text,
  status: z.enum(['queued', 'in_flight', 'retrying', 'delivered', 'dead']),
  attempts: count,
  lastError: text.nullable(),
  updatedAt: instant,
})

export const invoiceSchema = z.object({
  uuid: z.string().min(1),
  merchantId: z.string().min(1),
  token: address,
  amount: decimal,
  receiveAddress: address.nullable(),
  payer: address.nullable(),
  expiresAt: instant.nullable(),
  createdAt: instant,
  status: z.enum(['open', 'settled']),
  requestHash: text,
  settlement: settlementSchema.nullable(),
  delivery: deliveryStatusSchema.nullable(),
  reverted: z.array(settlementSchema),
})

export const webhookDataSchema = z.object({
  invoice_uuid: text.nullable(),
  merchant_id: text,
  chain_id: count,
  token: address,
  from: address,
  to: address,
  amount: decimal,
  tx_hash: hash,
  block_number: count,
  block_hash: hash,
  log_index: count,
  confirmations: count,
  providers: z.array(text),
  detected_at: instant,
  settled_at: instant.nullable(),
})

export const webhookPayloadSchema = z.object({
  type: z.enum(['invoice.settled', 'invoice.reverted', 'payment.unmatched']),
  timestamp: instant,
  data: webhookDataSchema,
})

export const outboxEntrySchema = z.object({
  webhookId: z.string().min(1),
  merchantId: z.string().min(1),
  invoiceUuid: text.nullable(),
  payload: webhookPayloadSchema,
  state: z.enum(['queued', 'in_flight', 'retrying', 'delivered', 'dead']),
  attempts: count,
  nextAttemptAt: z.number(),
  createdAt: instant,
  firstAttemptAt: instant.nullable(),
  lastAttemptAt: instant.nullable(),
  lastError: text.nullable(),
})

export const acceptedLogSchema = z.object({
  txHash: hash,
  blockNumber: count,
  blockHash: hash,
  logIndex: count,
  address,
  topics: z.array(hash),
  data: hexData,
  blockTimestamp: count.optional(),
  from: address,
  to: address,
  value: decimal,
  providers: z.array(text),
})

export const blockRefSchema = z.object({ number: count, hash })

export const pendingReorgSchema = z.object({ forkBlock: integer, untilBlock: integer, candidates: z.array(acceptedLogSchema) })

export const chainStateSchema = z.object({
  chainId: count,
  /** `start_block - 1` for a new store, so -1 when reading from genesis. */
  checkpoint: integer.min(-1),
  blocks: z.array(blockRefSchema),
  recentLogs: z.array(acceptedLogSchema),
  pendingReorg: pendingReorgSchema.nullable(),
})

export const processedTransferSchema = z.object({ block: count, invoiceUuid: text.nullable() })

const totalsSchema = z.object({ settledArchived: count, delivered: count, dead: count })

/**
 * The snapshot, after its `format` and `version` were checked. `chain` is required (null for a
 * store that has not read a block); the other collections default to empty, as the first
 * release wrote snapshots without them. Each record's key must be its own id.
 */
export const documentBodySchema = z
  .object({
    journalSeq: count.default(0),
    chain: chainStateSchema.nullable(),
    invoices: z.record(z.string(), invoiceSchema).default({}),
    outbox: z.record(z.string(), outboxEntrySchema).default({}),
    processed: z.record(z.string(), z.array(processedTransferSchema)).default({}),
    totals: totalsSchema.default({ settledArchived: 0, delivered: 0, dead: 0 }),
    replayed: z.array(z.string()).default([]),
  })
  .superRefine((document, context) => {
    for (const [key, invoice] of Object.entries(document.invoices)) {
      if (invoice.uuid !== key) context.addIssue({ code: 'custom', path: ['invoices', key, 'uuid'], message: 'is not the key it is stored under' })
    }
    for (const [key, entry] of Object.entries(document.outbox)) {
      if (entry.webhookId !== key) context.addIssue({ code: 'custom', path: ['outbox', key, 'webhookId'], message: 'is not the key it is stored under' })
    }
  })

/** One journal record: a committed transaction's new values (see `Changes`). */
export const changesSchema = z.object({
  seq: z.number().int().positive(),
  chain: chainStateSchema.optional(),
  invoices: z.array(invoiceSchema).optional(),
  outbox: z.array(outboxEntrySchema).optional(),
  processed: z.array(z.tuple([z.string(), z.array(processedTransferSchema)])).optional(),
  archived: z.array(z.string()).optional(),
  dropped: z.array(z.string()).optional(),
  replayed: z.array(z.string()).optional(),
})

/**
 * Where the first problem is and what it is, e.g. `invoices["4b1c…"].amount: expected a decimal
 * string of base units`, or undefined when `value` fits `schema`.
 */
export function firstProblem(schema: z.ZodType, value: unknown): string | undefined {
  const result = schema.safeParse(value)
  if (result.success) return undefined
  const issue = result.error.issues[0]!
  return `${formatPath(issue.path)}: ${issue.message}`
}

/** `chain.blocks[0].hash`, `invoices["a b"].amount`; `(root)` for the value itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out === '' ? '(root)' : out
}

/** Compile-time proof that a schema's output is exactly its type, in both directions. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const schemasMatchTheirTypes: [
  Same<z.output<typeof settlementSchema>, Settlement>,
  Same<z.output<typeof deliveryStatusSchema>, DeliveryStatus>,
  Same<z.output<typeof invoiceSchema>, Invoice>,
  Same<z.output<typeof webhookDataSchema>, WebhookData>,
  Same<z.output<typeof webhookPayloadSchema>, WebhookPayload>,
  Same<z.output<typeof outboxEntrySchema>, OutboxEntry>,
  Same<z.output<typeof acceptedLogSchema>, AcceptedLog>,
  Same<z.output<typeof blockRefSchema>, BlockRef>,
  Same<z.output<typeof pendingReorgSchema>, PendingReorg>,
  Same<z.output<typeof chainStateSchema>, ChainState>,
  Same<z.output<typeof processedTransferSchema>, ProcessedTransfer>,
] = [true, true, true, true, true, true, true, true, true, true, true]
void schemasMatchTheirTypes
