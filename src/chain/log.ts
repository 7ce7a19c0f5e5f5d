import { decodeEventLog, erc20Abi, type Address, type Hex } from 'viem'
import { z } from 'zod'

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
const blockNumber = z.union([z.bigint().nonnegative().max(BigInt(Number.MAX_SAFE_INTEGER)), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)])
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/)
const observedLogSchema = z.object({
  transactionHash: hash,
  blockNumber,
  blockHash: hash,
  logIndex: z.number().int().nonnegative(),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  topics: z.array(hash).max(4),
  data: hex,
  removed: z.boolean().optional(),
  blockTimestamp: z.union([blockNumber, z.string().regex(/^0x[0-9a-fA-F]{1,13}$/)]).optional(),
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
    logIndex: log.logIndex,
    address: log.address.toLowerCase() as Address,
    topics: log.topics.map((topic) => topic.toLowerCase() as Hex),
    data: log.data.toLowerCase() as Hex,
    ...(log.blockTimestamp === undefined ? {} : { blockTimestamp: Number(BigInt(log.blockTimestamp)) }),
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
  // Exactly the ERC-20 shape: two indexed addresses with clean upper bytes and one 32-byte word.
  // viem ignores extra topics, trailing data and dirty address bytes; a payment system must not.
  if (log.topics.length !== 3 || log.data.length !== 66) return undefined
  if (!log.topics.slice(1).every((topic) => topic.startsWith(`0x${'0'.repeat(24)}`))) return undefined
  try {
    const decoded = decodeEventLog({ abi: erc20Abi, eventName: 'Transfer', topics: log.topics as [Hex, ...Hex[]], data: log.data, strict: true })
    return { from: decoded.args.from.toLowerCase() as Address, to: decoded.args.to.toLowerCase() as Address, value: decoded.args.value.toString() }
  } catch {
    return undefined
  }
}
