import { isAddress } from 'viem'

/**
 * An EVM address as EIP-55 allows it: all lower case, all upper case (no checksum), or
 * mixed case with a valid checksum. viem's strict check refuses all upper case.
 */
export function isEvmAddress(value: string): boolean {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) return false
  const digits = value.slice(2)
  return digits === digits.toLowerCase() || digits === digits.toUpperCase() || isAddress(value, { strict: true })
}
