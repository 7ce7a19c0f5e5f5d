import type { Address, Hash } from 'viem'
import artifact from '../../contracts/TestToken.json' with { type: 'json' }
import type { Anvil } from './anvil.ts'

export const tokenAbi = artifact.abi
const bytecode = artifact.bytecode as `0x${string}`

/** A real ERC-20 deployed on anvil, with helpers that mine and wait for each transaction. */
export type TestToken = {
  address: Address
  mint(to: Address, value: bigint): Promise<Hash>
  transfer(from: Address, to: Address, value: bigint): Promise<Hash>
  batchTransfer(from: Address, to: Address[], values: bigint[]): Promise<Hash>
}

export async function deployToken(anvil: Anvil, symbol = 'TUSD'): Promise<TestToken> {
  const { client } = anvil
  const deployer = anvil.accounts[0]!
  const hash = await client.deployContract({ abi: tokenAbi, bytecode, args: ['Test USD', symbol], account: deployer, chain: client.chain })
  const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 })
  if (!receipt.contractAddress) throw new Error('token deployment produced no address')
  const address = receipt.contractAddress.toLowerCase() as Address
  const send = async (account: Address, functionName: string, args: unknown[]): Promise<Hash> => {
    const tx = await client.writeContract({ address, abi: tokenAbi, functionName, args, account, chain: client.chain })
    const mined = await client.waitForTransactionReceipt({ hash: tx, pollingInterval: 20 })
    if (mined.status !== 'success') throw new Error(`${functionName} reverted`)
    return tx
  }
  return {
    address,
    mint: (to, value) => send(deployer, 'mint', [to, value]),
    transfer: (from, to, value) => send(from, 'transfer', [to, value]),
    batchTransfer: (from, to, values) => send(from, 'batchTransfer', [to, values]),
  }
}
