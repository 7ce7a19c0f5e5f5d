import { encodeEventTopics, erc20Abi, hexToBigInt, type Address, type Hex } from 'viem'
import { z } from 'zod'

/** topic0 of `Transfer(address,address,uint256)`. */
export const TRANSFER_TOPIC = encodeEventTopics({ abi: erc20Abi, eventName: 'Transfer' })[0]
const CLEAN_ADDRESS_PREFIX = `0x${'0'.repeat(24)}`

/** A log as one provider reported it, normalised to lower-case hex and plain numbers. */
export type ObservedLog = {
  txHash: Hex
  blockNumber: number
  blockHash: Hex
  logIndex: number
  address: Address
  topics: Hex[]
  data: Hex
  /** Unix seconds of the block, when the provider includes it in the log (newer nodes do). */
  blockTimestamp?: number
}

/** An ERC-20 Transfer that a quorum of providers reported identically. */
export type AcceptedLog = ObservedLog & {
  from: Address
  to: Address
  /** Token base units as a decimal string (JSON has no bigint). */
  value: string
  /** Providers whose answer held this exact log, in configuration order. */
  providers: string[]
}

const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/)
/** A JSON-RPC quantity (hex string) or an already-decoded number, as a safe non-negative integer. */
const quantity = z.union([
  z.bigint().nonnegative().max(BigInt(Number.MAX_SAFE_INTEGER)),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  z.string().regex(/^0x[0-9a-fA-F]{1,13}$/).transform((v) => Number(v)).refine((v) => v <= Number.MAX_SAFE_INTEGER),
])
const blockNumber = quantity
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/)
const observedLogSchema = z.object({
  transactionHash: hash,
  blockNumber,
  blockHash: hash,
  logIndex: quantity,
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  topics: z.array(hash).max(4),
  data: hex,
  removed: z.boolean().optional(),
  blockTimestamp: quantity.optional(),
})

/**
 * Checks the shape of one log from a provider and normalises it; returns why it is not a
 * log otherwise. A provider that answers with a malformed log is refused for the round.
 */
export function normalizeLog(raw: unknown): ObservedLog | string {
  const parsed = observedLogSchema.safeParse(raw)
  if (!parsed.success) return `malformed log at ${parsed.error.issues[0]?.path.join('.') ?? '?'}`
  const log = parsed.data
  if (log.removed === true) return 'log is marked removed'
  return {
    txHash: log.transactionHash.toLowerCase() as Hex,
    blockNumber: Number(log.blockNumber),
    blockHash: log.blockHash.toLowerCase() as Hex,
    logIndex: Number(log.logIndex),
    address: log.address.toLowerCase() as Address,
    topics: log.topics.map((topic) => topic.toLowerCase() as Hex),
    data: log.data.toLowerCase() as Hex,
    ...(log.blockTimestamp === undefined ? {} : { blockTimestamp: Number(log.blockTimestamp) }),
  }
}

/** Where a log sits on chain: SPEC's `(tx_hash, block_number, log_index)`. */
export function logPosition(log: ObservedLog): string {
  return `${log.txHash}:${log.blockNumber}:${log.logIndex}`
}

/**
 * Everything a quorum must agree on for one log: position and content. `blockTimestamp` is
 * left out: some nodes include it in logs and some do not, and that must not split a quorum;
 * it is used only when every witness reports the same value.
 */
export function logFingerprint(log: ObservedLog): string {
  return `${logPosition(log)}:${log.blockHash}:${log.address}:${log.topics.join(',')}:${log.data}`
}

/**
 * What identifies a transfer across a reorg: its transaction and content, not its position
 * (a transaction mined again in another block keeps its hash and content, not its log index).
 */
export function transferIdentity(log: Pick<ObservedLog, 'txHash' | 'address' | 'topics' | 'data'>): string {
  return `${log.txHash}:${log.address}:${log.topics.join(',')}:${log.data}`
}

/** Decodes an ERC-20 Transfer; undefined when the log is not one (an ERC-721 Transfer, say). */
export function decodeTransfer(log: ObservedLog): { from: Address; to: Address; value: string } | undefined {
  // Exactly the ERC-20 shape: the Transfer topic, two indexed addresses with clean upper bytes
  // and one 32-byte word. (viem's decodeEventLog ignores extra topics, trailing data and dirty
  // address bytes; a payment system must not, and with the shape fixed, slicing is all it takes.)
  if (log.topics.length !== 3 || log.topics[0] !== TRANSFER_TOPIC || log.data.length !== 66) return undefined
  const [, from, to] = log.topics as [Hex, Hex, Hex]
  if (!from.startsWith(CLEAN_ADDRESS_PREFIX) || !to.startsWith(CLEAN_ADDRESS_PREFIX)) return undefined
  return { from: `0x${from.slice(26)}`, to: `0x${to.slice(26)}`, value: hexToBigInt(log.data).toString() }
}
