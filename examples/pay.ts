// Pays on the local chain of examples/local-chain.ts: an ERC-20 transfer from the funded payer
// (an anvil account, unlocked, so no key is needed), mined at once. Prints the transaction hash.
//
//   node examples/pay.ts RPC_URL TOKEN TO AMOUNT_IN_BASE_UNITS
import { createWalletClient, http, parseAbi, publicActions, type Address } from 'viem'
import { foundry } from 'viem/chains'

const [url, token, to, amount] = process.argv.slice(2)
if (url === undefined || token === undefined || to === undefined || amount === undefined || !/^\d+$/.test(amount)) {
  process.stderr.write('usage: node examples/pay.ts RPC_URL TOKEN TO AMOUNT_IN_BASE_UNITS\n')
  process.exit(2)
}
const client = createWalletClient({ chain: foundry, transport: http(url) }).extend(publicActions)
const [, payer] = (await client.getAddresses()) as [Address, Address]
const hash = await client.writeContract({
  address: token as Address,
  abi: parseAbi(['function transfer(address to, uint256 value) returns (bool)']),
  functionName: 'transfer',
  args: [to as Address, BigInt(amount)],
  account: payer,
})
const receipt = await client.waitForTransactionReceipt({ hash })
process.stdout.write(`paid ${amount} to ${to} in block ${receipt.blockNumber}: ${hash}\n`)
