// A local chain to try SettleProof on without any provider account: starts anvil (from the
// development install), deploys a test ERC-20 (TUSD, 6 decimals), gives a payer 1,000,000 TUSD,
// and prints what the walkthrough in the README needs. Stops with Ctrl-C.
//
//   node examples/local-chain.ts [--port 8545]
//
// One anvil is one node: the three provider URLs it prints all reach it (the configuration
// refuses the same URL twice, so they differ in a query string). Fine for a trial, never for
// real money, where the three providers must be independent.
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { createTestClient, http, publicActions, walletActions, type Address } from 'viem'
import { foundry } from 'viem/chains'
import { anvilBinary } from '../src/demo/anvil.ts'
import { tokenAbi } from '../src/demo/token.ts'
import artifact from '../contracts/TestToken.json' with { type: 'json' }

const { values } = parseArgs({ options: { port: { type: 'string', default: '8545' } } })
const url = `http://127.0.0.1:${values.port}`
const anvil = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', values.port!, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] })
const stop = () => anvil.kill('SIGTERM')
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
anvil.once('exit', (code) => process.exit(code ?? 0))

const client = createTestClient({ chain: foundry, mode: 'anvil', transport: http(url, { retryCount: 0 }) }).extend(publicActions).extend(walletActions)
for (let tries = 0; ; tries++) {
  try {
    await client.getChainId()
    break
  } catch (error) {
    if (tries > 150) throw error
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
const [deployer, payer, merchant] = (await client.getAddresses()) as [Address, Address, Address]
const deployed = await client.waitForTransactionReceipt({
  hash: await client.deployContract({ abi: tokenAbi, bytecode: artifact.bytecode as `0x${string}`, args: ['Test USD', 'TUSD'], account: deployer, chain: foundry }),
})
const token = deployed.contractAddress!.toLowerCase()
await client.waitForTransactionReceipt({
  hash: await client.writeContract({ address: token as Address, abi: tokenAbi, functionName: 'mint', args: [payer, 1_000_000n * 10n ** 6n], account: deployer, chain: foundry }),
})
process.stdout.write(
  [
    `local chain ready: chain id ${foundry.id}, ${url}`,
    `RPC_URL_1=${url}/?provider=1`,
    `RPC_URL_2=${url}/?provider=2`,
    `RPC_URL_3=${url}/?provider=3`,
    `TOKEN=${token}`,
    `MERCHANT_ADDRESS=${merchant.toLowerCase()}`,
    `PAYER=${payer.toLowerCase()}`,
    '',
  ].join('\n'),
)
