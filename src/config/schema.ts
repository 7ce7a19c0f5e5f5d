import { z } from 'zod'
import { isEvmAddress } from '../chain/address.ts'

const positiveInt = z.int().positive()
const nonNegativeInt = z.int().nonnegative()

/** An EVM address, checksum-validated when mixed-case, normalised to lower case. */
const address = z
  .string()
  .refine(isEvmAddress, { error: 'invalid address: expected 0x and 40 hex digits (with a valid checksum if mixed-case)' })
  .transform((value) => value.toLowerCase() as `0x${string}`)

/** An http(s) URL. The message never echoes the value: provider URLs carry API keys. */
const httpUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value)
      return url.protocol === 'http:' || url.protocol === 'https:'
    } catch {
      return false
    }
  },
  { error: 'invalid URL: expected an http:// or https:// URL' },
)

/** Standard Webhooks secret: `whsec_` then base64 of the HMAC key. */
const webhookSecret = z
  .string()
  .refine((value) => /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value.slice(6), 'base64').length >= 16, {
    error: 'invalid webhook secret: expected whsec_ followed by the base64 of at least 16 bytes',
  })

const chainSchema = z.strictObject({
  id: positiveInt,
  confirmations: positiveInt.default(3),
  start_block: nonNegativeInt.default(0),
  poll_interval_ms: positiveInt.default(2000),
  max_block_range: positiveInt.default(2000),
  /** How many blocks below the checkpoint keep their hash for reorg detection. */
  reorg_window: positiveInt.default(256),
})

const providerSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, { error: 'invalid name: use 1-32 letters, digits, _ or -' }),
  url: httpUrl,
})

const breakerSchema = z.strictObject({
  failure_threshold: positiveInt.default(5),
  success_threshold: positiveInt.default(2),
  open_ms: positiveInt.default(60_000),
})

const rpcSchema = z.strictObject({
  timeout_ms: positiveInt.default(10_000),
  retries: nonNegativeInt.default(2),
  retry_initial_delay_ms: positiveInt.default(250),
  retry_max_delay_ms: positiveInt.default(5_000),
})

const webhooksSchema = z.strictObject({
  max_attempts: positiveInt.default(8),
  initial_delay_ms: positiveInt.default(1_000),
  max_delay_ms: positiveInt.default(3_600_000),
  timeout_ms: positiveInt.default(10_000),
  concurrency: positiveInt.default(16),
  /** On SIGTERM, how long attempts in flight may take before they are left queued for the next start. */
  drain_timeout_ms: positiveInt.default(10_000),
})

const merchantSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'invalid merchant id: use 1-64 letters, digits, _ or -' }),
  webhook_url: httpUrl,
  webhook_secret: z.union([webhookSecret, z.array(webhookSecret).min(1)]).transform((value) => (Array.isArray(value) ? value : [value])),
  api_key: z.string().regex(/^\S{8,}$/, { error: 'invalid api_key: expected at least 8 characters and no white space' }),
  receive_addresses: z.array(address).min(1),
  tokens: z.array(address).min(1),
})

/** A PostgreSQL URL. The message never echoes the value: it carries a password. */
const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value)
      return url.protocol === 'postgres:' || url.protocol === 'postgresql:'
    } catch {
      return false
    }
  },
  { error: 'invalid database URL: expected a postgres:// or postgresql:// URL' },
)

/**
 * `storage`: the embedded lowdb file (the default, one process) or PostgreSQL (SPEC §9). A
 * configuration written before the driver existed (`storage: { path }`) means lowdb.
 */
const storageSchema = z.preprocess(
  (value) => (value !== null && typeof value === 'object' && !('driver' in value) ? { driver: 'lowdb', ...value } : value),
  z.discriminatedUnion('driver', [
    z.strictObject({ driver: z.literal('lowdb'), path: z.string().min(1).default('./data/settleproof.json') }),
    z.strictObject({ driver: z.literal('postgres'), url: postgresUrl, pool_size: positiveInt.max(100).default(10) }),
  ]),
)

export const configSchema = z
  .strictObject({
    chain: chainSchema,
    providers: z.array(providerSchema).min(1),
    quorum: positiveInt.default(2),
    breaker: breakerSchema.prefault({}),
    rpc: rpcSchema.prefault({}),
    storage: storageSchema.prefault({}),
    dlq: z.strictObject({ path: z.string().min(1).default('./data/dlq.jsonl') }).prefault({}),
    server: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.int().min(0).max(65_535).default(8787),
        /** Enables the operator console and `/v1/ops/` (SPEC §11); a secret, no default: absent, they answer 404. */
        operator_token: z.string().regex(/^\S{16,}$/, { error: 'invalid operator_token: expected at least 16 characters and no white space' }).optional(),
      })
      .prefault({}),
    webhooks: webhooksSchema.prefault({}),
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
    merchants: z.array(merchantSchema).min(1),
  })
  .superRefine((config, ctx) => {
    if (config.quorum > config.providers.length) {
      ctx.addIssue({ code: 'custom', path: ['quorum'], message: `quorum ${config.quorum} is larger than the ${config.providers.length} providers configured` })
    }
    reportDuplicates(ctx, config.providers.map((p) => p.name), (i) => ['providers', i, 'name'], 'duplicate provider name')
    reportDuplicates(ctx, config.providers.map((p) => p.url), (i) => ['providers', i, 'url'], 'duplicate provider URL: each provider must be independent')
    reportDuplicates(ctx, config.merchants.map((m) => m.id), (i) => ['merchants', i, 'id'], 'duplicate merchant id')
    reportDuplicates(ctx, config.merchants.map((m) => m.api_key), (i) => ['merchants', i, 'api_key'], 'api_key is shared with another merchant')
    const owners = new Map<string, number>()
    config.merchants.forEach((merchant, i) =>
      merchant.receive_addresses.forEach((addr, j) => {
        const owner = owners.get(addr)
        if (owner !== undefined && owner !== i) {
          ctx.addIssue({ code: 'custom', path: ['merchants', i, 'receive_addresses', j], message: `address is already a receive address of merchants[${owner}]` })
        } else owners.set(addr, i)
      }),
    )
  })

function reportDuplicates(ctx: z.RefinementCtx, values: readonly string[], path: (index: number) => (string | number)[], message: string) {
  const seen = new Set<string>()
  values.forEach((value, index) => {
    if (seen.has(value)) ctx.addIssue({ code: 'custom', path: path(index), message })
    seen.add(value)
  })
}

/** The validated configuration, as every other module receives it (frozen). */
export type Config = z.output<typeof configSchema>
export type ChainConfig = Config['chain']
export type ProviderConfig = Config['providers'][number]
export type BreakerConfig = Config['breaker']
export type RpcConfig = Config['rpc']
export type MerchantConfig = Config['merchants'][number]
export type StorageConfig = Config['storage']
