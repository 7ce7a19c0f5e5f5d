import type { Address, Hex } from 'viem'
import { startAnvil, type Anvil } from '../src/demo/anvil.ts'
import { startFaultProxy, type FaultProxy } from '../src/demo/fault-proxy.ts'
import { deployToken, tokenAbi, type TestToken } from '../src/demo/token.ts'

/** One payment the benchmark made: an invoice will exist for each. */
export type Payment = { to: Address; amount: string; merchant: 'acme' | 'globex' }

export type BenchChain = {
  anvil: Anvil
  token: TestToken
  proxies: FaultProxy[]
  payer: Address
  addresses: Record<'acme' | 'globex', Address[]>
  fromBlock: number
  toBlock: number
  payments: Payment[]
  close(): Promise<void>
}

/**
 * A real anvil chain with `blocks` blocks of `perBlock` ERC-20 transfers each (one
 * batchTransfer per block, automined), to four merchant addresses, every amount unique so
 * every payment matches exactly one invoice.
 */
export async function prepareChain(blocks: number, perBlock: number, amountBase = 1_000_000n): Promise<BenchChain> {
  const anvil = await startAnvil()
  const token = await deployToken(anvil)
  const [payer, a1, a2, g1, g2] = anvil.accounts.map((a) => a.toLowerCase() as Address)
  await token.mint(payer!, 10n ** 30n)
  const addresses = { acme: [a1!, a2!], globex: [g1!, g2!] }
  const recipients = [a1!, g1!, a2!, g2!]
  const payments: Payment[] = []
  const nonce = await anvil.client.getTransactionCount({ address: payer! })
  const first = Number(await anvil.client.getBlockNumber()) + 1
  let last: Hex | undefined
  for (let b = 0; b < blocks; b++) {
    const to: Address[] = []
    const values: bigint[] = []
    for (let i = 0; i < perBlock; i++) {
      const n = payments.length
      const recipient = recipients[n % recipients.length]!
      const amount = amountBase + BigInt(n)
      to.push(recipient)
      values.push(amount)
      payments.push({ to: recipient, amount: amount.toString(), merchant: recipient === a1 || recipient === a2 ? 'acme' : 'globex' })
    }
    last = await anvil.client.writeContract({ address: token.address, abi: tokenAbi, functionName: 'batchTransfer', args: [to, values], account: payer!, chain: anvil.client.chain, nonce: nonce + b, gas: 60_000n + 40_000n * BigInt(perBlock) })
  }
  const receipt = await anvil.client.waitForTransactionReceipt({ hash: last!, pollingInterval: 50, timeout: 120_000 })
  if (receipt.status !== 'success') throw new Error('benchmark transfers reverted')
  const proxies = await Promise.all([0, 1, 2].map(() => startFaultProxy(anvil.url)))
  return {
    anvil,
    token,
    proxies,
    payer: payer!,
    addresses,
    fromBlock: first,
    toBlock: Number(receipt.blockNumber),
    payments,
    async close() {
      await Promise.all(proxies.map((p) => p.close()))
      await anvil.stop()
    },
  }
}
