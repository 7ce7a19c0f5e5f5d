import type { Address, Hex } from 'viem'
import type { AcceptedLog } from '../../src/chain/log.ts'

/** Addresses for tests that build accepted logs by hand (no chain). */
export const TEST_TOKEN: Address = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
export const OTHER_TOKEN: Address = '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0'
export const MERCHANT_ADDRESS: Address = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
export const STRANGER: Address = '0x90f79bf6eb2c4f870365e785982e1f101e93b906'
export const PAYER: Address = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'

const TRANSFER_TOPIC: Hex = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
const word = (n: bigint | number): Hex => `0x${BigInt(n).toString(16).padStart(64, '0')}`
const topicOf = (address: Address): Hex => `0x${'0'.repeat(24)}${address.slice(2)}`

export type TransferLogParameters = { tx: number; value: number; block?: number; logIndex?: number; to?: Address; token?: Address; blockTimestamp?: number }

/**
 * An accepted ERC-20 transfer from `PAYER`, as the reader hands it on: the same `tx`, token,
 * recipient and value give the same transfer identity, whatever the block and log index.
 */
export function transferLog(parameters: TransferLogParameters): AcceptedLog {
  const { tx, value, block = 10, logIndex = 0, to = MERCHANT_ADDRESS, token = TEST_TOKEN } = parameters
  return {
    txHash: word(0x7000 + tx),
    blockNumber: block,
    blockHash: word(0xb000 + block),
    logIndex,
    address: token,
    topics: [TRANSFER_TOPIC, topicOf(PAYER), topicOf(to)],
    data: word(value),
    ...(parameters.blockTimestamp === undefined ? {} : { blockTimestamp: parameters.blockTimestamp }),
    from: PAYER,
    to,
    value: String(value),
    providers: ['primary', 'secondary'],
  }
}
